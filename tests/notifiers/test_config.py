"""``MONITORKIT_ALERTS`` and ``send_all`` (``monitorkit/alerts/config.py``, ``base.py``)."""

from __future__ import annotations

import logging
import sys

import pytest

from monitorkit.alerts import (
    Notifier,
    NotifierError,
    notifiers_from_settings,
    problems,
    send_all,
)
from monitorkit.alerts.apprise import AppriseNotifier
from monitorkit.alerts.email import EmailNotifier
from monitorkit.alerts.webhook import WebhookNotifier
from tests.notifiers.values import failing_transition

SECRET_URL = "https://hooks.example.com/services/T0/B0/path-s3cret"


def ids(found):
    return [p.id for p in found]


def test_unset_means_no_notifiers_and_no_problems(settings):
    settings.MONITORKIT_ALERTS = None
    assert notifiers_from_settings() == [] and problems() == []


def test_every_channel(settings):
    settings.ADMINS = [("Ada", "ada@example.com")]
    settings.MONITORKIT_ALERTS = {
        "email": True,
        "webhook": [
            {"url": SECRET_URL, "timeout": (1, 2), "retries": 0, "secret": "k", "headers": {}},
            {"url": "http://127.0.0.1:9/hook"},
        ],
        "apprise": {"urls": ["json://127.0.0.1:9/x"]},
    }
    email, first, second, apprise = notifiers_from_settings()
    assert isinstance(email, EmailNotifier) and email.to == ["ada@example.com"]
    assert email.from_email is None
    assert isinstance(first, WebhookNotifier)
    assert (first.url, first.timeout, first.retries, first.secret) == (SECRET_URL, (1, 2), 0, "k")
    assert isinstance(second, WebhookNotifier)
    assert (second.timeout, second.retries, second.secret) == (5.0, 2, None)
    assert isinstance(apprise, AppriseNotifier) and apprise.urls == ["json://127.0.0.1:9/x"]
    assert problems() == []
    assert first.describe() == "webhook https://hooks.example.com"


def test_settings_are_read_when_asked(settings):
    settings.MONITORKIT_ALERTS = {"email": {"to": ["a@example.com"], "from": "m@example.com"}}
    (email,) = notifiers_from_settings()
    assert isinstance(email, EmailNotifier)
    assert (email.to, email.from_email) == (["a@example.com"], "m@example.com")
    settings.MONITORKIT_ALERTS = {"email": False}
    assert notifiers_from_settings() == []


@pytest.mark.parametrize(
    "alerts, expected_ids, kept",
    [
        ("email", ["monitorkit.W201"], 0),
        ({"slack": {}}, ["monitorkit.W202"], 0),
        ({"email": "ops@example.com"}, ["monitorkit.W203"], 0),
        ({"email": {"to": "ops@example.com"}}, ["monitorkit.W203"], 1),
        ({"email": {"to": ["ops@example.com"], "cc": []}}, ["monitorkit.W203"], 1),
        ({"webhook": {"url": "ftp://x/y"}}, ["monitorkit.W204"], 0),
        ({"webhook": {"url": SECRET_URL, "retries": 99}}, ["monitorkit.W204"], 1),
        ({"webhook": {"url": SECRET_URL, "timeout": -1}}, ["monitorkit.W204"], 1),
        ({"webhook": {"url": SECRET_URL, "secret": 5}}, ["monitorkit.W204"], 1),
        ({"webhook": {"url": SECRET_URL, "headers": {"X": 1}}}, ["monitorkit.W204"], 1),
        ({"apprise": {"urls": "json://x"}}, ["monitorkit.W205"], 0),
        ({"apprise": ["json://x"]}, ["monitorkit.W205"], 0),
    ],
)
def test_bad_values_warn_and_fall_back(settings, alerts, expected_ids, kept):
    settings.ADMINS = [("Ada", "ada@example.com")]
    settings.MONITORKIT_ALERTS = alerts
    found = problems()
    assert ids(found) == expected_ids
    assert all(p.hint for p in found)
    assert len(notifiers_from_settings()) == kept


def test_an_email_with_no_one_to_write_to_warns(settings):
    settings.ADMINS = []
    settings.MONITORKIT_ALERTS = {"email": True}
    (problem,) = problems()
    assert problem.id == "monitorkit.W203" and "no address" in problem.msg


def test_no_message_shows_a_credential(settings):
    settings.MONITORKIT_ALERTS = {
        "webhook": [
            {"url": "ftp://u:pw-s3cret@h/path-s3cret"},
            {"url": SECRET_URL, "secret": ["key-s3cret"], "headers": {"A": ["hdr-s3cret"]}},
        ]
    }
    text = repr(problems())
    for secret in ("pw-s3cret", "path-s3cret", "key-s3cret", "hdr-s3cret"):
        assert secret not in text
    assert "MONITORKIT_ALERTS['webhook'][0]['url']" in text


def test_apprise_missing_warns(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)
    settings.MONITORKIT_ALERTS = {"apprise": {"urls": ["json://127.0.0.1:9/x"]}}
    (problem,) = problems()
    assert problem.id == "monitorkit.W205" and "not installed" in problem.msg


@pytest.mark.parametrize("value", ["ops.example.com", "ftp://h", 5])
def test_a_bad_base_url_warns(settings, value):
    settings.MONITORKIT_BASE_URL = value
    assert ids(problems()) == ["monitorkit.W206"]
    settings.MONITORKIT_BASE_URL = "https://ops.example.com/monitor"
    assert problems() == []


class Broken(Notifier):
    name = "broken"

    def send(self, transition):
        raise RuntimeError("boom with pw-s3cret")


class Failing(Notifier):
    name = "failing"

    def send(self, transition):
        raise NotifierError("failing: nope")


class Recording(Notifier):
    name = "recording"

    def __init__(self):
        self.sent = []

    def send(self, transition):
        self.sent.append(transition)


def test_send_all_gives_every_notifier_its_chance(caplog):
    recording = Recording()
    transition = failing_transition()
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        failures = send_all(transition, [Broken(), Failing(), recording])
    assert recording.sent == [transition]
    assert [str(f) for f in failures] == ["broken raised RuntimeError", "failing: nope"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "monitorkit"]
    assert warnings == [
        f"monitorkit could not send the alert {transition.id} through broken: "
        "broken raised RuntimeError",
        f"monitorkit could not send the alert {transition.id} through failing: failing: nope",
    ]
    assert "pw-s3cret" not in caplog.text


def test_a_notifier_must_define_send():
    with pytest.raises(NotImplementedError, match="Notifier must define send"):
        Notifier().send(failing_transition())
