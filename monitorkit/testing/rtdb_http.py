"""The HTTP plumbing of the local Realtime Database server, and the log of what it handled.

`http.server` alone would be too slow to stop (it polls for shutdown and leaves keep-alive
connections open) and would answer its own errors in HTML. `HttpServer` stops at once and closes
every open connection; its request handler reads bodies (chunked too), consults `Faults`, hands
the request to `RestApi`, writes the answer and records it in the `RequestLog` that tests read.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from monitorkit.testing.rtdb_faults import CannedResponse, Faults
from monitorkit.testing.rtdb_rest import RestApi, RestRequest, RestResponse, json_bytes

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server handled, as tests count and measure them.

    `method` is the verb on the wire (a tunnelled PATCH shows as POST), `path` the URL path,
    `query` the decoded query parameters, `status` None when the request was held by `hang`
    and dropped unanswered. `received` is when its request line was read and `answered` when
    its answer was about to be written (``time.monotonic()``, the clock every process on the
    machine shares): a benchmark places a request among the moments a client stamps.
    """

    method: str
    path: str
    query: dict[str, str]
    body_bytes: int
    status: int | None
    received: float = 0.0
    answered: float = 0.0


class RequestLog:
    """A thread-safe list of `RecordedRequest`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []

    def append(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class _RequestHandler(BaseHTTPRequestHandler):
    """Read one HTTP request, apply injected faults, answer through `RestApi`, log it."""

    protocol_version = "HTTP/1.1"
    server_version = "monitorkit-rtdb/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't stall 40 ms
    server: HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read `RealtimeDatabaseServer.requests` instead."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer HTTP-level errors (bad request line, unknown method) in Firebase's JSON."""
        self.close_connection = True
        self._write(code, json_bytes({"error": message or HTTPStatus(code).phrase}), {})

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        received = time.monotonic()
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            body = self._read_body()
        except ValueError as error:
            self.send_error(400, str(error))
            return
        answer = self._answer(url.path, query, body)
        status = answer.status if answer is not None else None
        # Logged before answering, so a client that got its answer always finds it in the log.
        self.server.log.append(
            RecordedRequest(
                self.command, url.path, query, len(body), status, received, time.monotonic()
            )
        )
        if answer is None:
            self.close_connection = True  # held by hang(): dropped without an answer
        else:
            self._write(answer.status, answer.body, answer.headers)

    def _answer(self, path: str, query: dict[str, str], body: bytes) -> CannedResponse | None:
        """Return the bytes to answer with (injected or real), or None to drop the request."""
        faults = self.server.faults
        if faults.hold_if_hanging():
            return None
        faults.wait_while_paused()
        faults.delay()
        canned = faults.take_canned()
        if canned is not None:
            return canned
        headers = cast("Mapping[str, str]", self.headers)  # an email.message.Message
        request = RestRequest(self.command, path, query, headers, body)
        try:
            response = self.server.api.handle(request)
        except Exception as error:  # noqa: BLE001 - a bug must reach the client as a 500
            traceback.print_exc()
            response = RestResponse(500, {"error": f"Internal server error: {error!r}"})
        pretty = query.get("print") == "pretty"
        payload = json_bytes(response.body, pretty) if response.has_body else b""
        return CannedResponse(response.status, payload, response.headers)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            raise ValueError("Invalid Content-Length")
        return self.rfile.read(int(length))

    def _write(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        try:
            self.send_response(status)
            if status not in (204, 304):
                self.send_header("Content-Type", JSON_CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            for name, value in headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if status not in (204, 304):
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client went away; nothing left to tell it


class HttpServer(ThreadingHTTPServer):
    """Threaded HTTP server that stops at once and closes its open keep-alive connections.

    `serve_forever` only notices `shutdown()` at its next poll, which would add up to the poll
    interval to every test's teardown; this loop is woken through a socket pair instead.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], api: RestApi, faults: Faults, log: RequestLog
    ) -> None:
        self.api = api
        self.faults = faults
        self.log = log
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__(address, _RequestHandler)

    def serve_until_stopped(self) -> None:
        """Accept connections until `stop_serving()`; each is handled in its own thread."""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake_reader, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    for key, _ in selector.select():
                        if key.fileobj is self and not self._stopping.is_set():
                            self._handle_request_noblock()  # type: ignore[attr-defined]
        finally:
            self._stopped.set()

    def stop_serving(self) -> None:
        """Make `serve_until_stopped` return, and wait until it has."""
        self._stopping.set()
        self._wake_writer.send(b"x")
        self._stopped.wait()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which can be slow."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, connection: socket.socket) -> None:
        """Remember a connection and the thread handling it, for `close_connections`."""
        with self._connections_lock:
            self._connections[connection] = threading.current_thread()

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)

    @property
    def open_connections(self) -> int:
        """How many connections are open: each one's requests are all logged once it closes."""
        with self._connections_lock:
            return len(self._connections)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Shut every open connection and wait for its handler to finish.

        Shutting the socket wakes handlers idle on keep-alive, blocked on a slow client, or just
        released from a hang, so the wait is short; once it is over, every handled request is
        in the log. The timeout only guards against a handler stuck in a bug.
        """
        with self._connections_lock:
            connections = dict(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in connections.values():
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore connections reset by clients or by `stop()`; report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)
