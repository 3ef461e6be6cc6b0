"""Where a Firebase store's nodes are and how they are reached: the key's root and one client.

Both faces of the store, the runs (``runs.py``) and the watcher's health (``health.py``), read
and write under the same root through the same kind of client; this is the one place that
builds them, so neither face reaches into the other. The client (and with it ``requests``) is
made on first use, on the sender's or the watcher's thread, never when a run is bound.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ...conf import MonitorSettings
from ...naming import is_valid_key
from ...retry import RetryPolicy
from ..base import ReporterError

if TYPE_CHECKING:
    from .http import RealtimeDatabaseClient


class FirebaseTree:
    """The root node of ``FIREBASE_MONITORING_KEY`` and a client of the configured database."""

    def __init__(self, settings: MonitorSettings, policy: RetryPolicy) -> None:
        self.settings = settings
        self.policy = policy
        self.current: RealtimeDatabaseClient | None = None
        self._lock = threading.Lock()

    def root(self) -> tuple[str, ...]:
        """Return the key's parts: the path every node of this store lives under."""
        key = self.settings.firebase_key
        parts = tuple(part for part in key.split("/") if part)
        if not parts:
            raise ReporterError(
                "FIREBASE_MONITORING_KEY is empty: set it to the node runs are stored under, "
                "e.g. FIREBASE_MONITORING_KEY = 'monitor-myapp-production'."
            )
        if any(not is_valid_key(part) for part in parts):
            raise ReporterError(
                f"FIREBASE_MONITORING_KEY = {key!r} holds characters Firebase keys forbid "
                "(. $ # [ ] or control characters); use letters, digits, - and _."
            )
        return parts

    def client(self) -> RealtimeDatabaseClient:
        """Return the client, made on first use (one per store, its connection kept alive)."""
        from .auth import AuthTokenCredentials, Credentials, credentials_from_settings
        from .http import RealtimeDatabaseClient, resolve_location

        with self._lock:
            if self.current is None:
                config = self.settings.firebase
                if config is None:
                    raise ReporterError(
                        "FIREBASE_MONITORING is not set: set it to {'DATABASE_URL': "
                        "'https://<db>.firebaseio.com'} (or {'NAME': '<db>'})."
                    )
                location = resolve_location(config)
                timeout = self.settings.http_timeout
                credentials = credentials_from_settings(
                    config, emulator=location.emulator, timeout=timeout
                )
                if type(credentials) is Credentials and location.url_token:
                    credentials = AuthTokenCredentials(location.url_token)
                self.current = RealtimeDatabaseClient(
                    location,
                    credentials,
                    timeout=timeout,
                    policy=self.policy,
                )
            return self.current

    def close(self) -> None:
        """Let the keep-alive connection go (the client reopens it if asked again)."""
        if self.current is not None:
            self.current.close()
