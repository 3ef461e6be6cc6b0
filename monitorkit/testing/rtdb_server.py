"""A local HTTP server speaking the Firebase Realtime Database REST protocol.

It stands in for the official emulator (a Java JAR no package registry carries) so that code
talking to Firebase can be tested over real HTTP, and so that the official `firebase-admin` SDK,
pointed at it with `FIREBASE_DATABASE_EMULATOR_HOST`, cannot tell the difference. Data lives in
`rtdb_tree.RealtimeTree`, one per namespace; this module adds the REST surface (URLs, methods,
ETags, auth, errors), optional persistence, a request log and fault injection for tests of
clients under failure. Standard library only.

Namespaces: the `ns` query parameter selects one, as with the emulator. Without it the first DNS
label of the Host header is used (`mydb.firebaseio.com` -> `mydb`, as production routes), and a
Host that is an IP address or a single label (`127.0.0.1`, `localhost`) means
`RealtimeDatabaseServer.default_namespace`.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import os
import secrets
import selectors
import socket
import socketserver
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

from monitorkit.testing.rtdb_tree import (
    EtagMismatch,
    RealtimeTree,
    RtdbError,
    etag_of,
    parse_path,
)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
PUSH_CHARS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
INVALID_JSON = "Invalid data; couldn't parse JSON object, array, or value."
MALFORMED_BODY = b'{"malformed": tru'
_METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server handled, as tests count and measure them.

    `method` is the verb on the wire (a tunnelled PATCH shows as POST), `path` the URL path,
    `query` the decoded query parameters, `status` None when the request was held by `hang`
    and dropped unanswered.
    """

    method: str
    path: str
    query: dict[str, str]
    body_bytes: int
    status: int | None


@dataclass(frozen=True)
class CannedResponse:
    """An encoded answer: injected by a fault, or the encoded result of a REST request."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RestRequest:
    """What the protocol layer needs from an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass
class RestResponse:
    """What the protocol layer answers; `body` is None for answers without one."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    has_body: bool = True


def json_bytes(value: Any, pretty: bool = False) -> bytes:
    """Encode a value as Firebase sends it: UTF-8 JSON, compact unless `print=pretty`."""
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False).encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class PushIdGenerator:
    """Make push ids the way Firebase clients do: 8 time characters then 12 random ones.

    Ids made in the same millisecond reuse the previous random part plus one, so they still
    sort in creation order; the clock is never allowed to go backwards between ids.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._random: list[int] = []

    def next_id(self) -> str:
        """Return a new push id."""
        with self._lock:
            now_ms = max(int(time.time() * 1000), self._last_ms)
            if now_ms == self._last_ms and self._random:
                self._increment_random()
            else:
                self._random = [secrets.randbelow(64) for _ in range(12)]
            self._last_ms = now_ms
            time_chars = []
            for _ in range(8):
                time_chars.append(PUSH_CHARS[now_ms % 64])
                now_ms //= 64
            return "".join(reversed(time_chars)) + "".join(PUSH_CHARS[i] for i in self._random)

    def _increment_random(self) -> None:
        index = 11
        while index >= 0 and self._random[index] == 63:
            self._random[index] = 0
            index -= 1
        if index >= 0:
            self._random[index] += 1


class Namespaces:
    """The trees of all namespaces, created on first use."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._trees = {name: RealtimeTree(data) for name, data in (initial or {}).items()}

    def tree(self, name: str) -> RealtimeTree:
        """Return the tree of namespace `name`, creating an empty one if needed."""
        with self._lock:
            return self._trees.setdefault(name, RealtimeTree())

    def peek(self, name: str) -> RealtimeTree | None:
        """Return the tree of namespace `name` if it exists, without creating it."""
        with self._lock:
            return self._trees.get(name)

    def export(self) -> dict[str, Any]:
        """Return every non-empty namespace in stored form."""
        with self._lock:
            trees = dict(self._trees)
        exported = {name: tree.export() for name, tree in trees.items()}
        return {name: data for name, data in exported.items() if data is not None}


class JsonFilePersistence:
    """Keep all namespaces in one JSON file: `{"namespaces": {name: data}}`.

    Each save writes a temporary file next to the target and renames it over the target, so a
    crash never leaves a half-written file. Saves are serialised and each takes the latest state.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any]:
        """Return the saved namespaces, or none if the file does not exist yet."""
        try:
            with open(self.path, encoding="utf-8") as file:
                saved = json.load(file)
        except FileNotFoundError:
            return {}
        if not isinstance(saved, dict) or not isinstance(saved.get("namespaces"), dict):
            raise ValueError(  # noqa: TRY004 - a bad file's content is a value error
                f'{self.path}: expected {{"namespaces": {{name: data}}}}'
            )
        return saved["namespaces"]

    def save(self, namespaces: Namespaces) -> None:
        """Write the current state of every namespace atomically."""
        with self._lock:
            payload = json_bytes({"namespaces": namespaces.export()})
            directory = os.path.dirname(os.path.abspath(self.path))
            fd, temp_path = tempfile.mkstemp(prefix=".rtdb-", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(payload)
                os.replace(temp_path, self.path)
            except BaseException:
                os.unlink(temp_path)
                raise


class Faults:
    """Failures to inject into answers, shared by all request threads.

    One condition guards everything, so `hang(False)`, `release()` (at stop) and the latency
    wait all wake promptly and never keep `stop()` waiting.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._latency = 0.0
        self._canned: list[CannedResponse] = []
        self._hanging = False
        self._released = False
        self._held = 0

    def set_latency(self, seconds: float) -> None:
        with self._condition:
            self._latency = max(0.0, float(seconds))

    def queue(self, count: int, response: CannedResponse) -> None:
        with self._condition:
            self._canned.extend([response] * count)

    def hang(self, hanging: bool) -> None:
        with self._condition:
            self._hanging = hanging
            self._condition.notify_all()

    def reset(self) -> None:
        with self._condition:
            self._latency, self._canned, self._hanging = 0.0, [], False
            self._condition.notify_all()

    def arm(self) -> None:
        """Allow waiting again (at start)."""
        with self._condition:
            self._released = False

    def release(self) -> None:
        """Wake every held or delayed request for good (at stop)."""
        with self._condition:
            self._released = True
            self._condition.notify_all()

    def hold_if_hanging(self) -> bool:
        """Block while the server hangs; True if this request was held and must be dropped."""
        with self._condition:
            if not self._hanging or self._released:
                return False
            self._held += 1
            try:
                self._condition.wait_for(lambda: not self._hanging or self._released)
            finally:
                self._held -= 1
            return True

    @property
    def held(self) -> int:
        """How many requests `hang` is holding right now."""
        with self._condition:
            return self._held

    def delay(self) -> None:
        """Wait the injected latency, cut short by `release`."""
        with self._condition:
            if self._latency > 0:
                self._condition.wait_for(lambda: self._released, timeout=self._latency)

    def take_canned(self) -> CannedResponse | None:
        """Return the next injected answer, if any remain."""
        with self._condition:
            return self._canned.pop(0) if self._canned else None


class RestApi:
    """Answer REST requests against the namespaces: methods, ETags, auth and errors."""

    def __init__(
        self,
        namespaces: Namespaces,
        secret: str | None,
        default_namespace: str,
        persistence: JsonFilePersistence | None = None,
    ) -> None:
        self.namespaces = namespaces
        self.secret = secret
        self.default_namespace = default_namespace
        self.persistence = persistence
        self.push_ids = PushIdGenerator()

    def handle(self, request: RestRequest) -> RestResponse:
        """Return the answer to one request, errors included, as Firebase would give it."""
        try:
            response = self._dispatch(request)
        except EtagMismatch as mismatch:
            response = RestResponse(412, mismatch.value, {"ETag": mismatch.etag})
        except RtdbError as error:
            return RestResponse(error.status, {"error": error.message})
        if request.query.get("print") == "silent" and response.status < 300:
            return RestResponse(204, headers=response.headers, has_body=False)
        return response

    def namespace_of(self, request: RestRequest) -> str:
        """Return the namespace a request addresses (see the module docstring)."""
        if request.query.get("ns"):
            return request.query["ns"]
        host = request.headers.get("Host", "").strip()
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if "." in host:
                return host.split(".", 1)[0]
        return self.default_namespace

    def _dispatch(self, request: RestRequest) -> RestResponse:
        if not request.path.endswith(".json"):
            raise RtdbError("Not found: REST paths end in .json", status=404)
        path = parse_path([unquote(part) for part in request.path[:-5].split("/")])
        method = self._effective_method(request)
        self._authorize(request)
        if "text/event-stream" in request.headers.get("Accept", ""):
            raise RtdbError(
                "Streaming (Accept: text/event-stream) is not supported by this "
                "local server; poll with GET instead"
            )
        if request.query.get("print", "pretty") not in ("pretty", "silent"):
            raise RtdbError("print must be pretty or silent")
        tree = self.namespaces.tree(self.namespace_of(request))
        if_match = request.headers.get("if-match")
        if if_match is not None and method not in ("PUT", "DELETE"):
            raise RtdbError(f"if-match is only supported on PUT and DELETE, not {method}")
        wants_etag = request.headers.get("X-Firebase-ETag", "").lower() == "true"
        if method == "GET":
            return self._get(tree, path, request, wants_etag)
        stored: Any = None  # what now sits at the location written, for its ETag
        if method == "PATCH":  # ETags are never given for PATCH, even when asked for
            written: Any = tree.update(path, self._json_body(request))
        elif method == "POST":
            push_id = self.push_ids.next_id()
            stored = tree.set((*path, push_id), self._json_body(request))
            written = {"name": push_id}
        elif method == "PUT":
            written = stored = tree.set(path, self._json_body(request), if_match=if_match)
        else:
            tree.delete(path, if_match=if_match)
            written = None
        if self.persistence is not None:
            self.persistence.save(self.namespaces)
        headers = {}
        if method != "PATCH" and (wants_etag or if_match is not None):
            headers["ETag"] = etag_of(stored)
        return RestResponse(200, written, headers)

    def _get(
        self, tree: RealtimeTree, path: tuple[str, ...], request: RestRequest, wants_etag: bool
    ) -> RestResponse:
        value, etag = tree.read(path, request.query)
        if_none_match = request.headers.get("if-none-match")
        headers = {"ETag": etag} if wants_etag or if_none_match is not None else {}
        if if_none_match is not None and if_none_match == etag:
            return RestResponse(304, headers=headers, has_body=False)
        return RestResponse(200, value, headers)

    @staticmethod
    def _effective_method(request: RestRequest) -> str:
        override = request.headers.get("X-HTTP-Method-Override") or request.query.get(
            "x-http-method-override"
        )
        if request.method != "POST" or not override:
            return request.method
        if override.upper() not in _METHODS:
            raise RtdbError(f"Invalid method override: {override}")
        return override.upper()

    def _authorize(self, request: RestRequest) -> None:
        if self.secret is None:
            return
        bearer = request.headers.get("Authorization", "")
        token = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        offered = [request.query.get("auth"), request.query.get("access_token"), token]
        if token == "owner" or any(
            candidate is not None and hmac.compare_digest(candidate.encode(), self.secret.encode())
            for candidate in offered
        ):
            return
        raise RtdbError("Permission denied", status=401)

    @staticmethod
    def _json_body(request: RestRequest) -> Any:
        def refuse_constant(name: str) -> None:
            raise ValueError(name)

        try:
            return json.loads(request.body.decode("utf-8"), parse_constant=refuse_constant)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise RtdbError(INVALID_JSON) from None


class _RequestHandler(BaseHTTPRequestHandler):
    """Read one HTTP request, apply injected faults, answer through `RestApi`, log it."""

    protocol_version = "HTTP/1.1"
    server_version = "monitorkit-rtdb/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't stall 40 ms
    server: _HttpServer

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
        self.server.log.append(RecordedRequest(self.command, url.path, query, len(body), status))
        if answer is None:
            self.close_connection = True  # held by hang(): dropped without an answer
        else:
            self._write(answer.status, answer.body, answer.headers)

    def _answer(self, path: str, query: dict[str, str], body: bytes) -> CannedResponse | None:
        """Return the bytes to answer with (injected or real), or None to drop the request."""
        faults = self.server.faults
        if faults.hold_if_hanging():
            return None
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


class _HttpServer(ThreadingHTTPServer):
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
        self._httpd: _HttpServer | None = None
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
        httpd = _HttpServer((self.host, self._requested_port), api, self._faults, self._log)
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

    # --- fault injection ---

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by `seconds` (0 to stop)."""
        self._faults.set_latency(seconds)

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

    def reset_faults(self) -> None:
        """Remove all latency, queued failures and hangs."""
        self._faults.reset()
