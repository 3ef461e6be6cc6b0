"""Alerts as JSON POSTs to a real local HTTP server (``monitorkit/alerts/webhook.py``)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from monitorkit.alerts import webhook
from monitorkit.alerts.base import NotifierError
from monitorkit.alerts.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE_SECONDS,
    WebhookNotifier,
)
from tests.notifiers.values import failing_transition, free_port
from tests.shapes import TIMESTAMP

KEY = "hmac-key-s3cret"
TOKEN = "header-token-s3cret"


def test_the_body_is_slack_text_and_structured_fields(http_sink, settings):
    settings.MONITORKIT_BASE_URL = "https://ops.example.com"
    WebhookNotifier(http_sink.url + "/hook").send(failing_transition())
    (request,) = http_sink.requests
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("monitorkit/")
    assert SIGNATURE_HEADER not in request.headers
    assert TIMESTAMP_HEADER not in request.headers
    body = request.json()
    assert body["text"].startswith("import_data__limit_5 is failing")
    assert {k: body[k] for k in ("command_id", "health", "previous", "host")} == {
        "command_id": "import_data__limit_5",
        "health": "FAILING",
        "previous": "OK",
        "host": "worker-7",
    }
    assert body["at"] == "2026-03-01T04:05:06.789000Z" and TIMESTAMP.match(body["at"])
    assert body["id"] == "import_data__limit_5:FAILING:2026-03-01T04:05:06.789000Z"
    assert body["exception_type"] == "ConnectionError"
    assert body["message"] == "could not reach https://bob:********@api.example.com/v1"
    assert body["traceback_tail"].splitlines()[-1].startswith("ConnectionError:")
    assert body["url"] == "https://ops.example.com/commands/import_data__limit_5/runs/r1/"
    assert body["failures_in_row"] == 2 and body["run_status"] == "FAILED"


def test_the_signature_covers_a_timestamp_and_the_body_and_no_secret_is_in_it(http_sink):
    notifier = WebhookNotifier(
        http_sink.url + "/signed", secret=KEY, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    before = int(time.time())
    notifier.send(failing_transition())
    after = int(time.time())
    (request,) = http_sink.requests
    timestamp = request.headers[TIMESTAMP_HEADER]
    assert before <= int(timestamp) <= after  # Unix seconds, when it was sent
    signed = timestamp.encode() + b"." + request.body
    expected = hmac.new(KEY.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    # The body alone no longer verifies: a captured alert cannot be sent again with a new time.
    body_only = hmac.new(KEY.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] != f"sha256={body_only}"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    for secret in (KEY, TOKEN, "pg-s3cret", "url-s3cret", "hunter2"):
        assert secret.encode() not in request.body


def documented_verify(clock: list[float]) -> Any:
    """The receiver's ``verify`` from docs/schedules-and-alerts.md, its clock set by the test."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "schedules-and-alerts.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", page, re.S) if "def verify" in b]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    namespace["time"] = SimpleNamespace(time=lambda: clock[0])
    return namespace["verify"]


def test_the_documented_receiver_accepts_a_fresh_alert_and_refuses_a_replay(http_sink):
    """The verification in the docs, run on what the real server received."""
    WebhookNotifier(http_sink.url + "/signed", secret=KEY).send(failing_transition())
    (request,) = http_sink.requests
    sent = int(request.headers[TIMESTAMP_HEADER])
    clock = [sent + 10.0]
    verify = documented_verify(clock)
    assert verify(KEY, request.headers, request.body)
    assert not verify("another-key", request.headers, request.body)
    assert not verify(KEY, request.headers, request.body + b" ")
    clock[0] = sent + TOLERANCE_SECONDS + 1  # the same request, captured and sent again later
    assert not verify(KEY, request.headers, request.body)
    moved = {**request.headers, TIMESTAMP_HEADER: str(int(clock[0]))}  # a new time, old bytes
    assert not verify(KEY, moved, request.body)


def test_a_body_quoting_the_key_has_it_masked(http_sink):
    record = failing_transition().record
    assert record is not None
    record.message = f"the key was {KEY}"
    WebhookNotifier(http_sink.url, secret=KEY).send(failing_transition(record=record))
    assert KEY.encode() not in http_sink.requests[0].body


def test_a_500_is_retried_and_then_delivered(http_sink):
    http_sink.respond(500)
    WebhookNotifier(http_sink.url, retries=2).send(failing_transition())
    assert len(http_sink.requests) == 2
    assert http_sink.requests[0].body == http_sink.requests[1].body


def test_a_long_retry_after_is_waited_only_up_to_the_cap(http_sink, monkeypatch):
    """A 429 asking for 40 s (or an hour) is retried after the cap (10 s; 0.2 s here):
    the watcher sends one alert after another, and each would wait behind it."""
    monkeypatch.setattr(webhook, "MAX_RETRY_AFTER", 0.2)
    http_sink.respond((429, {"Retry-After": "40"}))
    started = time.monotonic()
    WebhookNotifier(http_sink.url, retries=2).send(failing_transition())
    assert time.monotonic() - started < 30  # 40 s uncapped; the cap is 0.2 s
    assert [r.status for r in http_sink.requests] == [429, 200]


def test_a_short_retry_after_is_honoured(http_sink):
    http_sink.respond((429, {"Retry-After": "1"}))
    started = time.monotonic()
    WebhookNotifier(http_sink.url, retries=2).send(failing_transition())
    assert time.monotonic() - started >= 0.9  # the server's wait, not urllib3's first 0 s
    assert [r.status for r in http_sink.requests] == [429, 200]


def test_retries_are_bounded_and_the_last_status_is_reported(http_sink):
    http_sink.respond(503, 503, 503)
    with pytest.raises(NotifierError) as caught:
        WebhookNotifier(http_sink.url + "/x", retries=1).send(failing_transition())
    assert len(http_sink.requests) == 2
    assert str(caught.value) == (
        f"webhook http://127.0.0.1:{http_sink.url.rsplit(':', 1)[1]} answered 503 "
        "Service Unavailable: upstream broke"
    )


def test_a_client_error_is_not_retried(http_sink):
    http_sink.respond(404)
    with pytest.raises(NotifierError, match="answered 404 Not Found"):
        WebhookNotifier(http_sink.url, retries=3).send(failing_transition())
    assert len(http_sink.requests) == 1


def test_a_server_that_never_answers_times_out(http_sink):
    http_sink.respond("hang", "hang")
    began = time.monotonic()
    with pytest.raises(NotifierError, match="failed after 1 retries"):
        WebhookNotifier(http_sink.url, timeout=0.3, retries=1).send(failing_transition())
    assert time.monotonic() - began < 10  # two attempts of 0.3 s; no hang
    assert len(http_sink.requests) == 2  # the read timeout of a POST is retried too


def test_a_refused_connection_names_the_host_but_not_the_secret_path():
    url = f"http://127.0.0.1:{free_port()}/services/T0/B0/path-s3cret?token=query-s3cret"
    with pytest.raises(NotifierError) as caught:
        WebhookNotifier(url, timeout=1, retries=0, secret=KEY).send(failing_transition())
    text = str(caught.value)
    assert text.startswith("webhook http://127.0.0.1:")
    assert "ConnectionError" in text
    for secret in ("path-s3cret", "query-s3cret", "services/T0", KEY):
        assert secret not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_session_is_kept_and_closed(http_sink):
    notifier = WebhookNotifier(http_sink.url)
    notifier.send(failing_transition())
    session = notifier.session()
    notifier.send(failing_transition())
    assert notifier.session() is session
    notifier.close()
    notifier.send(failing_transition())
    assert notifier.session() is not session
    assert len(http_sink.requests) == 3


def test_a_netrc_login_never_replaces_the_configured_headers(http_sink, tmp_path, monkeypatch):
    """requests would send a ``~/.netrc`` login for the host, over the Authorization header."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    WebhookNotifier(http_sink.url, headers=headers).send(failing_transition())
    WebhookNotifier(http_sink.url).send(failing_transition())
    assert [r.headers.get("Authorization") for r in http_sink.requests] == [
        headers["Authorization"],
        None,
    ]


def test_urllib3s_retry_lines_name_neither_the_path_nor_the_query(caplog):
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{free_port()}/services/T0/B0/path-s3cret?token=query-s3cret"
    with pytest.raises(NotifierError):
        WebhookNotifier(url, timeout=1, retries=2).send(failing_transition())
    lines = [r for r in caplog.records if r.name.startswith("urllib3")]
    assert any("Retrying" in r.getMessage() for r in lines)
    assert all(r.levelno == logging.DEBUG for r in lines)  # the failure is monitorkit's to say
    for secret in ("path-s3cret", "query-s3cret"):
        assert secret not in caplog.text
