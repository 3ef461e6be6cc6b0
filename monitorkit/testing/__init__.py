"""Test helpers that need no Django: a local Firebase Realtime Database REST server.

`RealtimeDatabaseServer` speaks the REST protocol closely enough for the official
`firebase-admin` SDK, so reporters that talk to Firebase are tested over real HTTP: monitorkit's
own, and a user's project's monitoring in its own test suite (docs/testing.md). Run it
standalone with `python -m monitorkit.testing`; pytest fixtures live in
`monitorkit.testing.pytest_plugin`.
"""

from monitorkit.testing.rtdb_server import RealtimeDatabaseServer

__all__ = ["RealtimeDatabaseServer"]
