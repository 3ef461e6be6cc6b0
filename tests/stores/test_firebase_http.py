"""The HTTP layer: where the database is, what is retried, and that no secret ever leaks."""

from __future__ import annotations

import email.utils
import logging
import socket
import time
import traceback
from typing import Any

import pytest
import requests

from monitorkit import retry
from monitorkit.redaction import redact as scrub
from monitorkit.retry import RetryPolicy
from monitorkit.stores.base import ReporterError
from monitorkit.stores.firebase.auth import AuthTokenCredentials, Credentials
from monitorkit.stores.firebase.http import (
    DatabaseLocation,
    RealtimeDatabaseClient,
    resolve_location,
)
from monitorkit.testing.rtdb_server import RealtimeDatabaseServer
from monitorkit.transport.retries import MAX_RETRY_AFTER, DeadlineRetry

from .conftest import FAST, SECRET

EMULATOR = "FIREBASE_DATABASE_EMULATOR_HOST"


# --- where the database is ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "base_url", "namespace"),
    [
        ({"DATABASE_URL": "https://my-db.firebaseio.com"}, "https://my-db.firebaseio.com", None),
        ({"DATABASE_URL": "https://my-db.firebaseio.com/"}, "https://my-db.firebaseio.com", None),
        (
            {"DATABASE_URL": "https://my-db.europe-west1.firebasedatabase.app"},
            "https://my-db.europe-west1.firebasedatabase.app",
            None,
        ),
        ({"DATABASE_URL": "http://127.0.0.1:9000/?ns=foo"}, "http://127.0.0.1:9000", "foo"),
        ({"DATABASE_URL": "http://localhost:9000?ns=bar-1"}, "http://localhost:9000", "bar-1"),
        ({"DATABASE_URL": "http://proxy.local/rtdb/"}, "http://proxy.local/rtdb", None),
        (
            {"DATABASE_URL": "https://a.firebaseio.com", "NAME": "ignored"},
            "https://a.firebaseio.com",
            None,
        ),
        ({"NAME": "legacy-db"}, "https://legacy-db.firebaseio.com", None),
        ({"NAME": "http://127.0.0.1:9000/?ns=x"}, "http://127.0.0.1:9000", "x"),
        (
            {"NAME": "db.asia-southeast1.firebasedatabase.app"},
            "https://db.asia-southeast1.firebasedatabase.app",
            None,
        ),
        (
            {"DATABASE_URL": "https://user:pw@my-db.firebaseio.com"},
            "https://my-db.firebaseio.com",
            None,
        ),
    ],
)
def test_resolve_location(config: dict[str, str], base_url: str, namespace: str | None) -> None:
    location = resolve_location(config, environ={})
    assert (location.base_url, location.namespace, location.emulator) == (
        base_url,
        namespace,
        False,
    )


def test_emulator_env_redirects_https_urls_like_firebase_admin() -> None:
    environ = {EMULATOR: "localhost:9123"}
    location = resolve_location(
        {"DATABASE_URL": "https://my-db-123.europe-west1.firebasedatabase.app"}, environ
    )
    assert (location.base_url, location.namespace, location.emulator) == (
        "http://localhost:9123",
        "my-db-123",
        True,
    )
    assert resolve_location({"NAME": "legacy"}, environ).namespace == "legacy"
    # An http URL already names a local server: firebase-admin keeps it, so do we.
    kept = resolve_location({"DATABASE_URL": "http://127.0.0.1:9000/?ns=foo"}, environ)
    assert (kept.base_url, kept.namespace, kept.emulator) == ("http://127.0.0.1:9000", "foo", False)


@pytest.mark.parametrize(
    "url",
    [
        "https://my-db-123.firebaseio.com",
        "https://other.europe-west1.firebasedatabase.app",
        "http://localhost:9000/?ns=foo",
    ],
)
def test_emulator_resolution_matches_firebase_admin(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The official SDK is the reference for FIREBASE_DATABASE_EMULATOR_HOST."""
    firebase_admin = pytest.importorskip("firebase_admin")
    from firebase_admin import db

    monkeypatch.setenv(EMULATOR, "127.0.0.1:9555")
    app = firebase_admin.initialize_app(options={"databaseURL": url}, name=f"parity-{url}")
    try:
        client = db.reference("/", app=app)._client
        location = resolve_location({"DATABASE_URL": url})
        assert (location.base_url, location.namespace) == (client.base_url, client.params["ns"])
    finally:
        firebase_admin.delete_app(app)


@pytest.mark.parametrize(
    ("config", "environ", "fragment"),
    [
        ({}, {}, "names no database"),
        ({"NAME": "   "}, {}, "names no database"),
        ({"DATABASE_URL": "ftp://my-db.firebaseio.com"}, {}, "not an http(s) URL"),
        ({"DATABASE_URL": "my-db.firebaseio.com"}, {}, "not an http(s) URL"),
        ({"DATABASE_URL": 42}, {}, "must be strings"),
        ({"NAME": "db"}, {EMULATOR: "http://localhost:9000"}, "must be host:port"),
    ],
)
def test_bad_locations_say_how_to_fix_them(
    config: dict[str, Any], environ: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ReporterError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        resolve_location(config, environ)


def test_a_token_in_the_url_is_found_and_never_shown() -> None:
    encoded = requests.utils.quote(SECRET, safe="")
    location = resolve_location({"DATABASE_URL": f"https://db.firebaseio.com/?auth={encoded}"}, {})
    assert location.url_token == SECRET
    assert SECRET not in location.describe() and encoded not in location.describe()
    assert location.url(("a b", "c%d")) == "https://db.firebaseio.com/a%20b/c%25d.json"


# --- scrubbing ---------------------------------------------------------------------------------


def test_scrub_removes_secrets_in_every_spelling() -> None:
    encoded = requests.utils.quote(SECRET, safe="")
    text = (
        f"raw {SECRET}; encoded {encoded}; plus {SECRET.replace('+', '%2B')}; "
        "url /k.json?ns=x&auth=anything-else (Caused by); ?access_token=abc; "
        "Authorization: Bearer ya29.zzz"
    )
    cleaned = scrub(text, [SECRET])
    for leaked in (SECRET, encoded, "anything-else", "abc", "ya29.zzz"):
        assert leaked not in cleaned
    assert "ns=x" in cleaned


# --- requests, retries and faults ---------------------------------------------------------------


def client_for(
    server: RealtimeDatabaseServer | None,
    *,
    url: str | None = None,
    credentials: Credentials | None = None,
    policy: RetryPolicy = FAST,
    timeout: tuple[float, float] = (0.5, 0.5),
) -> RealtimeDatabaseClient:
    location = DatabaseLocation(url or (server.url if server else "http://127.0.0.1:1"))
    return RealtimeDatabaseClient(
        location, credentials or Credentials(), timeout=timeout, policy=policy
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits between attempts instead of sleeping them."""
    recorded: list[float] = []
    monkeypatch.setattr(DeadlineRetry, "pause", staticmethod(recorded.append))
    return recorded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_no_secret(secret: str, err: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    texts = [str(err), repr(err), "".join(traceback.format_exception(err)), caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert secret not in text
        assert requests.utils.quote(secret, safe="") not in text


def test_get_put_patch_and_etags(rtdb_server: RealtimeDatabaseServer) -> None:
    client = client_for(rtdb_server)
    assert client.put(("a", "b"), {"x": 1}).value == {"x": 1}
    assert client.patch(("a",), {"b/y": 2, "c": 3}).status == 200
    assert client.get(("a",)).value == {"b": {"x": 1, "y": 2}, "c": 3}
    reply = client.get(("a", "c"), etag=True)
    assert reply.value == 3 and reply.etag
    assert client.put(("a", "c"), 4, if_match=reply.etag).status == 200
    stale = client.put(("a", "c"), 5, if_match=reply.etag)  # someone wrote since: a 412
    assert stale.status == 412 and stale.value == 4 and stale.etag not in (None, reply.etag)
    assert client.put(("a", "c"), 5, if_match=stale.etag).value == 5


def test_connection_refused_is_retried_then_reported_without_the_secret(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(
        None, url=f"http://127.0.0.1:{free_port()}", credentials=AuthTokenCredentials(SECRET)
    )
    with pytest.raises(ReporterError, match="could not connect") as caught:
        client.get(("k", "commands"))
    assert "gave up after 3 attempt(s)" in str(caught.value)
    retries = [r for r in caplog.records if r.name == "monitorkit" and "retrying" in r.message]
    assert len(retries) == 2 and all(r.levelno <= logging.INFO for r in retries)
    assert_no_secret(SECRET, caught.value, caplog)
    assert caught.value.__cause__ is None
    assert capsys.readouterr().out == ""


def test_a_hanging_server_is_bounded_by_the_timeout(
    rtdb_server_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = rtdb_server_factory(secret=SECRET)
    server.hang(True)
    client = client_for(server, credentials=AuthTokenCredentials(SECRET), timeout=(0.5, 0.3))
    began = time.monotonic()
    with pytest.raises(ReporterError, match="timed out") as caught:
        client.patch(("k",), {"a": 1})
    elapsed = time.monotonic() - began
    assert 0.8 <= elapsed < 10  # three reads of 0.3 s, never the 120 s a default would wait
    server.hang(False)
    assert_no_secret(SECRET, caught.value, caplog)
    assert server.data() is None  # nothing was applied


def test_5xx_then_recovery(
    rtdb_server: RealtimeDatabaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitorkit")
    rtdb_server.fail_next(2, 503)
    client = client_for(rtdb_server)
    assert client.put(("k",), 1).value == 1
    assert [r.status for r in rtdb_server.requests] == [503, 503, 200]
    assert sum("HTTP 503" in r.message for r in caplog.records) == 2


def test_a_patch_is_retried_after_a_503(
    rtdb_server: RealtimeDatabaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    """urllib3 retries no PATCH unless told to: the reporter's writes are PATCHes."""
    caplog.set_level(logging.INFO, logger="monitorkit")
    rtdb_server.fail_next(1, 503, {"error": "Service unavailable"})
    client = client_for(rtdb_server)
    assert client.patch(("a",), {"b/c": 1, "d": 2}).status == 200
    assert [(r.method, r.status) for r in rtdb_server.requests] == [
        ("PATCH", 503),
        ("PATCH", 200),
    ]
    assert rtdb_server.data() == {"a": {"b": {"c": 1}, "d": 2}}
    [line] = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert line.startswith("monitorkit: Firebase PATCH /a failed (attempt 1 of 3): HTTP 503")


def test_5xx_every_time_gives_up_after_the_attempts(rtdb_server: RealtimeDatabaseServer) -> None:
    rtdb_server.fail_next(5, 500, {"error": "Internal server error"})
    with pytest.raises(ReporterError, match=r"HTTP 500: Internal server error \(gave up after 3"):
        client_for(rtdb_server).get(("k",))
    assert len(rtdb_server.requests) == 3


def test_429_honours_retry_after_seconds(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float]
) -> None:
    rtdb_server.fail_next(1, 429, {"error": "Too many requests"}, {"Retry-After": "2"})
    policy = RetryPolicy(attempts=3, base=0.01, cap=1.0)
    assert client_for(rtdb_server, policy=policy).put(("k",), 1).status == 200
    assert sleeps == [2.0]


def test_429_honours_retry_after_as_a_date(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    rtdb_server.fail_next(1, 429, None, {"Retry-After": when})
    policy = RetryPolicy(attempts=3, base=0.01, cap=2.0)
    client_for(rtdb_server, policy=policy).get(("k",))
    assert len(sleeps) == 1 and 0.5 < sleeps[0] <= 4.0


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, "Invalid data; couldn't parse JSON"), (403, "Forbidden"), (404, "Not found")],
)
def test_client_errors_are_not_retried_and_carry_the_servers_text(
    rtdb_server: RealtimeDatabaseServer, status: int, error: str
) -> None:
    rtdb_server.fail_next(1, status, {"error": error})
    with pytest.raises(ReporterError, match=rf"HTTP {status}\): {error}"):
        client_for(rtdb_server).patch(("k",), {"a": 1})
    assert len(rtdb_server.requests) == 1


def test_401_is_reported_once_without_the_secret(
    rtdb_server_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = rtdb_server_factory(secret="the-right-one")
    client = client_for(server, credentials=AuthTokenCredentials(SECRET))
    with pytest.raises(ReporterError, match=r"HTTP 401\): Permission denied; check") as caught:
        client.get(("k",))
    assert len(server.requests) == 1
    assert_no_secret(SECRET, caught.value, caplog)
    assert any("urllib3" in r.name for r in caplog.records)  # its URL lines were scrubbed


def test_malformed_json_is_an_error_not_a_retry(rtdb_server: RealtimeDatabaseServer) -> None:
    rtdb_server.malformed_next(1)
    with pytest.raises(ReporterError, match="not JSON"):
        client_for(rtdb_server).get(("k",))
    assert len(rtdb_server.requests) == 1


def test_namespace_is_sent(rtdb_server: RealtimeDatabaseServer) -> None:
    location = resolve_location({"DATABASE_URL": f"{rtdb_server.url}/?ns=other"}, {})
    client = RealtimeDatabaseClient(location, Credentials(), timeout=(0.5, 0.5), policy=FAST)
    client.put(("k",), "v")
    assert rtdb_server.data("other") == {"k": "v"}
    assert rtdb_server.data() is None


# --- retrying until the delivery deadline (issue 8, item 9) -------------------------------------


def test_503_three_times_then_success_is_delivered_before_the_deadline(
    rtdb_server: RealtimeDatabaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A one-second blip costs nothing: attempts go on until the deadline, not for three."""
    caplog.set_level(logging.INFO, logger="monitorkit")
    rtdb_server.fail_next(3, 503)
    client = client_for(rtdb_server, policy=RetryPolicy())  # the reporters' default policy
    with retry.deadline(time.monotonic() + 3.0):
        assert client.put(("k",), 1).value == 1
    assert [r.status for r in rtdb_server.requests] == [503, 503, 503, 200]
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(lines) == 3
    assert all("s left before the delivery deadline" in line for line in lines)


def test_503_forever_gives_up_at_the_deadline(rtdb_server: RealtimeDatabaseServer) -> None:
    rtdb_server.fail_next(10_000, 503)
    client = client_for(rtdb_server, policy=RetryPolicy())
    began = time.monotonic()
    with retry.deadline(began + 1.0), pytest.raises(ReporterError) as caught:
        client.patch(("k",), {"a": 1})
    elapsed = time.monotonic() - began
    assert "HTTP 503" in str(caught.value) and "delivery deadline" in str(caught.value)
    assert len(rtdb_server.requests) > 3  # tried until the deadline, not for a count
    # At the deadline, not long after (the attempt floor is 0.1 s; generous: a busy machine).
    assert elapsed < 1.0 + 2.0
    assert rtdb_server.data() is None


def test_a_hanging_server_costs_no_more_than_the_deadline(rtdb_server_factory: Any) -> None:
    """Each attempt's timeouts are cut to the time left: a 5 s read cannot overrun it."""
    server = rtdb_server_factory()
    server.hang(True)
    client = client_for(server, policy=RetryPolicy(), timeout=(0.5, 30.0))
    began = time.monotonic()
    with retry.deadline(began + 0.6), pytest.raises(ReporterError, match="timed out") as caught:
        client.patch(("k",), {"a": 1})
    elapsed = time.monotonic() - began
    server.hang(False)
    assert "cut to the delivery deadline" in str(caught.value)
    assert elapsed < 10  # one uncut read alone would take 30 s


def test_a_retry_after_beyond_the_deadline_gives_up_at_once(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float]
) -> None:
    rtdb_server.fail_next(5, 429, {"error": "Too many requests"}, {"Retry-After": "30"})
    client = client_for(rtdb_server, policy=RetryPolicy())
    with retry.deadline(time.monotonic() + 2.0), pytest.raises(ReporterError) as caught:
        client.put(("k",), 1)
    assert sleeps == [] and len(rtdb_server.requests) == 1
    assert "asks to wait 30 s (Retry-After), past the delivery deadline" in str(caught.value)
    assert "gave up after 1 attempt(s)" in str(caught.value)


def test_a_retry_after_within_the_deadline_is_honoured(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float]
) -> None:
    rtdb_server.fail_next(1, 503, None, {"Retry-After": "1"})
    client = client_for(rtdb_server, policy=RetryPolicy())
    with retry.deadline(time.monotonic() + 3.0):
        assert client.put(("k",), 1).status == 200
    assert sleeps == [1.0]


def test_a_retry_after_is_capped_without_a_deadline(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float]
) -> None:
    """monitor_status has no deadline: an hour-long Retry-After must not hold it for an hour."""
    rtdb_server.fail_next(5, 429, None, {"Retry-After": "3600"})
    with pytest.raises(ReporterError, match=r"asks to wait 3600 s \(Retry-After\), over the"):
        client_for(rtdb_server, policy=RetryPolicy()).get(("k",))
    assert sleeps == [] and len(rtdb_server.requests) == 1
    assert MAX_RETRY_AFTER < 3600


def test_a_netrc_login_for_the_host_is_never_sent(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials come from FIREBASE_MONITORING only, never from a ``~/.netrc`` requests reads."""
    import http.server
    import threading

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"null")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert requests.get(f"{url}/probe.json", timeout=5).request.headers.get("Authorization")
        seen.clear()  # requests itself would send the login: the file is read
        assert client_for(None, url=url).get(("a",)).value is None
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [None]
