"""Alerts through Apprise to a real local HTTP server (``monitorkit/alerts/apprise.py``)."""

from __future__ import annotations

import sys

import pytest

from monitorkit.alerts.apprise import AppriseNotifier
from monitorkit.alerts.base import NotifierError
from tests.notifiers.values import failing_transition

pytest.importorskip("apprise")


def json_url(sink, path="/alerts"):
    return sink.url.replace("http://", "json://") + path


def test_an_alert_reaches_apprise_s_json_target(http_sink):
    AppriseNotifier([json_url(http_sink)]).send(failing_transition())
    (request,) = http_sink.requests
    assert request.path == "/alerts"
    body = request.json()
    assert body["title"] == "import_data__limit_5 is failing (was OK)"
    assert "Health: FAILING (was OK)" in body["message"]
    assert "Host: worker-7" in body["message"]
    assert body["type"] == "failure"
    for secret in ("pg-s3cret", "url-s3cret", "hunter2"):
        assert secret not in body["message"]


def test_a_recovery_is_a_success(http_sink):
    AppriseNotifier([json_url(http_sink)]).send(failing_transition(health="OK", previous="FAILING"))
    assert http_sink.requests[0].json()["type"] == "success"


def test_every_url_gets_its_chance_and_failures_are_named_without_the_url(http_sink):
    http_sink.respond(500)  # the first URL fails (apprise does not retry by default)
    notifier = AppriseNotifier(
        [json_url(http_sink, "/first-s3cret"), "nosuchservice://x", json_url(http_sink, "/second")]
    )
    with pytest.raises(NotifierError) as caught:
        notifier.send(failing_transition())
    assert [r.path for r in http_sink.requests] == ["/first-s3cret", "/second"]
    assert str(caught.value) == (
        "apprise (3 URLs): URL #1 (JSON) failed; URL #2 is not one apprise understands "
        "(the apprise logger says why)"
    )


def test_without_apprise_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # what an uninstalled package looks like
    with pytest.raises(NotifierError, match=r'pip install "monitorkit\[apprise\]"'):
        AppriseNotifier(["json://127.0.0.1:9/x"]).send(failing_transition())
