"""Real local sinks for alerts: an SMTP server (aiosmtpd) and an HTTP server.

Shared by the notifier tests and the watcher's process tests (registered in tests/conftest.py).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.notifiers.values import free_port

# --- SMTP ---------------------------------------------------------------------------------------


class Inbox:
    """What the SMTP server received: one envelope per message it accepted.

    ``refuse``: an SMTP reply (``"451 ..."``) that every message gets instead, while set.
    """

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return self.refuse
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend pointed at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield inbox
    finally:
        controller.stop()


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | str = 200
    """What the sink answered (``"hang"``: nothing)."""
    method: str = "POST"

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Sink:
    """A real HTTP server that records each POST (or GET) and answers with the next scripted
    status.

    ``"hang"`` as a status means: never answer (until the test ends); ``(status, headers)``
    answers with those headers too (a ``Retry-After``, say).
    """

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    script: list[int | str | tuple[int, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def respond(self, *statuses: int | str | tuple[int, dict[str, str]]) -> None:
        self.script.extend(statuses)


@pytest.fixture
def http_sink() -> Iterator[Sink]:
    sink = Sink()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            scripted = sink.script.pop(0) if sink.script else 200
            status, extra = scripted if isinstance(scripted, tuple) else (scripted, {})
            headers = dict(self.headers.items())
            sink.requests.append(Request(self.path, headers, body, status, self.command))
            if status == "hang":
                sink.release.wait(30)
                return
            self.send_response(int(status))
            reply = b'{"ok": true}' if status == 200 else b"upstream broke"
            self.send_header("Content-Length", str(len(reply)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST  # a ping (MONITORKIT_WATCHER_PING_URL) is a GET

        def log_message(self, format: str, *args: Any) -> None:  # quiet: nothing printed
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield sink
    finally:
        sink.release.set()
        server.shutdown()
        server.server_close()
