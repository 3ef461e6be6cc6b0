"""The transport's sessions: made once, closed together, forgotten by a forked child; no
``~/.netrc`` login sent; urllib3's log lines and a server's reply text scrubbed."""

from __future__ import annotations

import gc
import logging
import os
import socket
from pathlib import Path

import pytest
import requests
from urllib3.util import Retry

from monitorkit.testing.rtdb_server import RealtimeDatabaseServer
from monitorkit.transport import sessions as transport
from monitorkit.transport.sessions import REPLY_TEXT_LIMIT, Sessions, mount, reply_text
from tests.sinks import Sink

SECRET = "path-s3cret-token"


class Client:
    """The smallest client: one session, one secret."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.made = 0
        self.sessions = Sessions(self.secrets)

    def secrets(self) -> list[str]:
        return [self.secret]

    def make(self) -> tuple[requests.Session]:
        self.made += 1
        return (mount(requests.Session(), Retry(total=1, backoff_factor=0)),)

    def session(self) -> requests.Session:
        return self.sessions.get(self.make)


def test_a_session_is_made_once_and_made_anew_after_close(http_sink: Sink) -> None:
    client = Client()
    session = client.session()
    assert client.session() is session and client.made == 1
    assert session.post(http_sink.url, data=b"{}").status_code == 200
    client.sessions.close()
    assert client.session() is not session and client.made == 2


def test_a_make_that_raises_keeps_nothing() -> None:
    sessions = Client().sessions

    def broken() -> tuple[requests.Session]:
        raise RuntimeError("no key")

    with pytest.raises(RuntimeError):
        sessions.get(broken)
    fresh = requests.Session()
    assert sessions.get(lambda: (fresh,)) is fresh


def test_a_forked_child_makes_its_own_session() -> None:
    client = Client()
    parents = client.session()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's session (and its pooled sockets) is not its own
        try:
            ok = client.session() is not parents and client.made == 2
            os.write(write, b"y" if ok else b"n")
        finally:
            os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 1) == b"y"
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert client.session() is parents  # the parent's is untouched


def test_no_netrc_login_is_sent(http_sink: Sink, tmp_path: Path, monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    requests.post(http_sink.url, data=b"{}", timeout=5)  # requests alone reads the file
    Client().session().post(http_sink.url, data=b"{}", headers={"Authorization": "Bearer x"})
    assert http_sink.requests[0].headers["Authorization"].startswith("Basic ")
    assert http_sink.requests[1].headers["Authorization"] == "Bearer x"


def test_urllib3s_log_lines_hold_no_live_clients_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client()
    with pytest.raises(requests.ConnectionError):
        client.session().post(f"http://127.0.0.1:{port}/hooks/{SECRET}?token=Bearer%20abc")
    urllib3 = [r for r in caplog.records if r.name.startswith("urllib3")]
    assert any("Retrying" in r.getMessage() for r in urllib3)  # the retry warning was there
    assert all(r.levelno == logging.DEBUG for r in urllib3)  # ... at DEBUG: monitorkit reports
    assert SECRET not in caplog.text and "hooks/********" in caplog.text


def test_a_gone_clients_secrets_are_no_longer_asked_for() -> None:
    client = Client("gone-s3cret")
    assert "gone-s3cret" not in transport.redact("a gone-s3cret b")
    sessions = client.sessions
    del client
    gc.collect()
    assert list(sessions.secrets()) == []
    assert transport.redact("a gone-s3cret b") == "a gone-s3cret b"


def test_the_reply_text_is_masked_whole_then_cut(rtdb_server: RealtimeDatabaseServer) -> None:
    """A secret that straddles the cut is masked before it, never half shown."""
    body = "x" * (REPLY_TEXT_LIMIT - 5) + SECRET + " and more"
    rtdb_server.fail_next(1, 400, body)
    response = requests.get(f"{rtdb_server.url}/k.json", timeout=5)
    text = reply_text(response, lambda t: t.replace(SECRET, "********"))
    assert text == ("x" * (REPLY_TEXT_LIMIT - 5) + "********")[:REPLY_TEXT_LIMIT]
    assert SECRET[:5] not in text
    rtdb_server.fail_next(1, 503, b"  ")
    assert reply_text(requests.get(f"{rtdb_server.url}/k.json", timeout=5), str) == ""
