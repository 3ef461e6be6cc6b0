"""A local HTTP server speaking the Firebase Realtime Database REST protocol.

It stands in for the official emulator (a Java JAR no package registry carries) so that code
talking to Firebase can be tested over real HTTP, and so that the official `firebase-admin` SDK,
pointed at it with `FIREBASE_DATABASE_EMULATOR_HOST`, cannot tell the difference. Standard
library only.

This module is the public face, `RealtimeDatabaseServer`: start and stop, addresses, inspection
of data and requests, and the fault-injection switches. The work is done by the modules it wires
together: `rtdb_tree` (one namespace's data), `rtdb_storage` (namespaces and the JSON file),
`rtdb_rest` (the REST protocol, namespace routing included), `rtdb_faults` (injected failures)
and `rtdb_http` (the HTTP server and the request log).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

from monitorkit.testing.rtdb_faults import MALFORMED_BODY, CannedResponse, Faults
from monitorkit.testing.rtdb_http import HttpServer, RecordedRequest, RequestLog
from monitorkit.testing.rtdb_rest import RestApi, json_bytes
from monitorkit.testing.rtdb_storage import JsonFilePersistence, Namespaces

__all__ = ["RealtimeDatabaseServer", "RecordedRequest"]


class RealtimeDatabaseServer:
    """A local Firebase Realtime Database REST server for tests and demos.

    Use as a context manager or call `start()` / `stop()`. With `secret`, every request must
    carry it as `auth=`, `access_token=` or `Authorization: Bearer` (or be the emulator's admin,
    `Bearer owner`). With `persist_path`, data is loaded from that JSON file at start and saved
    to it after each write.
    """

    default_namespace = "default"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        secret: str | None = None,
        persist_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.secret = secret
        self.persistence = JsonFilePersistence(persist_path) if persist_path else None
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._namespaces = Namespaces()
        self._faults = Faults()
        self._log = RequestLog()

    # --- lifecycle ---

    def start(self) -> Self:
        """Bind, load persisted data and serve from a background thread; return self."""
        if self._httpd is not None:
            return self
        if self.persistence is not None:
            self._namespaces = Namespaces(self.persistence.load())
        api = RestApi(self._namespaces, self.secret, self.default_namespace, self.persistence)
        httpd = HttpServer((self.host, self._requested_port), api, self._faults, self._log)
        self._faults.arm()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_until_stopped,
            name=f"rtdb-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop held requests and close open connections; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._faults.release()
        httpd.stop_serving()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses ---

    @property
    def port(self) -> int:
        """The bound port (the free port chosen when constructed with port=0)."""
        if self._httpd is None:
            raise RuntimeError("The server is not running; call start() first.")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:9000`; append `/<path>.json`."""
        return f"http://{self.host_port}"

    @property
    def host_port(self) -> str:
        """`host:port`, the value for FIREBASE_DATABASE_EMULATOR_HOST."""
        return f"{self.host}:{self.port}"

    # --- inspection ---

    def data(self, namespace: str | None = None) -> Any:
        """Return a deep copy of a namespace's data as a GET of the root would answer."""
        tree = self._namespaces.peek(namespace or self.default_namespace)
        return tree.get() if tree is not None else None

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests handled so far, oldest first (a copy)."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Forget the requests handled so far."""
        self._log.clear()

    @property
    def open_connections(self) -> int:
        """How many client connections are open right now.

        A request that reached the server is handled on its connection's thread, which keeps
        the connection open until it is done; once a client process has exited and this is 0,
        every request it sent is applied and in `requests`.
        """
        return self._httpd.open_connections if self._httpd is not None else 0

    # --- fault injection ---

    def set_latency(self, seconds: float, jitter: float = 0.0) -> None:
        """Delay every request by `seconds` before applying and answering it (0 to stop).

        With `jitter`, each request waits `seconds` plus or minus up to `jitter` (uniformly),
        so requests in flight on different connections may be applied out of the order they
        were sent in, as a real network allows.
        """
        self._faults.set_latency(seconds, jitter)

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `n` requests with `status` without applying them.

        `body` may be bytes or str (sent as is) or any JSON value; by default it is
        `{"error": "<reason phrase>"}` like Firebase's errors.
        """
        if body is None:
            body = {"error": HTTPStatus(status).phrase}
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json_bytes(body)
        self._faults.queue(n, CannedResponse(status, body, dict(headers or {})))

    def malformed_next(self, n: int = 1) -> None:
        """Answer the next `n` requests 200 with a body that is not valid JSON."""
        self._faults.queue(n, CannedResponse(200, MALFORMED_BODY))

    def hang(self, hanging: bool = True) -> None:
        """Accept requests but never answer them while `hanging`.

        Held requests are dropped unanswered (connection closed, nothing applied) when the hang
        ends or the server stops.
        """
        self._faults.hang(hanging)

    @property
    def held_requests(self) -> int:
        """How many requests `hang` is holding right now (to wait until a client is stuck)."""
        return self._faults.held

    def pause(self, paused: bool = True) -> None:
        """Hold every request while `paused`; when the pause ends, each goes on and is answered.

        Unlike `hang`, nothing is dropped: a test holds a client's request in flight for as long
        as it needs (a heartbeat while the command ends, say), then lets it through, latency
        and all.
        """
        self._faults.pause(paused)

    @property
    def paused_requests(self) -> int:
        """How many requests `pause` is holding right now (to wait until one is in flight)."""
        return self._faults.waiting

    def reset_faults(self) -> None:
        """Remove all latency, queued failures, hangs and pauses."""
        self._faults.reset()
