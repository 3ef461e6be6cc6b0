"""Fixtures for the tests of monitorkit.testing (pytest_plugins is only allowed at the root)."""

from monitorkit.testing.pytest_plugin import rtdb_server, rtdb_server_factory  # noqa: F401
