"""The Firebase Realtime Database REST protocol, apart from any HTTP server.

`RestApi` turns a `RestRequest` (method, URL path, query, headers, body) into a `RestResponse`
the way Firebase would answer it: `.json` paths, GET/PUT/POST/PATCH/DELETE and the method
override, ETags (`X-Firebase-ETag`, `if-match`, `if-none-match`), `print=pretty|silent`, the
secret, push ids for POST, and errors as `{"error": message}`. The data itself lives in
`rtdb_tree`, one tree a namespace (`rtdb_storage`). No sockets here: every protocol rule is in
this one module, tested through the server, and the HTTP plumbing knows none of them.

Namespaces: the `ns` query parameter selects one, as with the emulator. Without it the first DNS
label of the Host header is used (`mydb.firebaseio.com` -> `mydb`, as production routes), and a
Host that is an IP address or a single label (`127.0.0.1`, `localhost`) means the default
namespace (`RealtimeDatabaseServer.default_namespace`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from monitorkit.testing.rtdb_storage import JsonFilePersistence, Namespaces
from monitorkit.testing.rtdb_tree import (
    EtagMismatch,
    RealtimeTree,
    RtdbError,
    etag_of,
    parse_path,
)

PUSH_CHARS = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
INVALID_JSON = "Invalid data; couldn't parse JSON object, array, or value."
_METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")


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
