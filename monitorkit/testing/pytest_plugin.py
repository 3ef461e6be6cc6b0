"""pytest fixtures for the local Realtime Database server.

Kept apart from the rest of `monitorkit.testing` so that importing the server never needs
pytest (the `testing` extra adds it). Opt-in on purpose, with no `pytest11` entry point: an entry
point would load these fixtures into every pytest run of every project that installs monitorkit.
Register with `pytest_plugins = ["monitorkit.testing.pytest_plugin"]` in the root conftest or
`-p monitorkit.testing.pytest_plugin`, or import the fixtures into a conftest (docs/testing.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from monitorkit.testing.rtdb_server import RealtimeDatabaseServer


@pytest.fixture
def rtdb_server() -> Iterator[RealtimeDatabaseServer]:
    """A fresh, empty server on a free 127.0.0.1 port, stopped after the test."""
    with RealtimeDatabaseServer() as server:
        yield server


@pytest.fixture
def rtdb_server_factory() -> Iterator[Callable[..., RealtimeDatabaseServer]]:
    """Start servers with the constructor's keyword arguments; all are stopped after the test."""
    servers: list[RealtimeDatabaseServer] = []

    def start_server(**kwargs: Any) -> RealtimeDatabaseServer:
        server = RealtimeDatabaseServer(**kwargs).start()
        servers.append(server)
        return server

    yield start_server
    for server in reversed(servers):
        server.stop()
