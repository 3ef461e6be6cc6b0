"""Alerts by email, delivered to a real local SMTP server (``monitorkit/alerts/email.py``)."""

from __future__ import annotations

import email
import email.policy

import pytest

from monitorkit.alerts.base import NotifierError
from monitorkit.alerts.email import EmailNotifier
from tests.notifiers.values import failing_transition, free_port


def parsed(envelope):
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


def test_an_alert_reaches_the_listed_addresses(smtp_server):
    notifier = EmailNotifier(to=["ops@example.com", "dev@example.com"], from_email="mk@example.com")
    notifier.send(failing_transition())
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "mk@example.com"
    assert sorted(envelope.rcpt_tos) == ["dev@example.com", "ops@example.com"]
    message = parsed(envelope)
    assert message["Subject"] == "[monitorkit] import_data__limit_5 is failing (was OK)"
    body = message.get_content()
    assert "Health: FAILING (was OK)" in body
    assert "Host: worker-7" in body
    assert "When: 2026-03-01 04:05:06 UTC" in body
    assert "ConnectionError: could not reach postgres://app:********@db.internal/prod" in body
    for secret in ("pg-s3cret", "url-s3cret", "hunter2"):
        assert secret not in body


def test_by_default_the_admins_get_it_from_the_default_address(smtp_server, settings):
    settings.ADMINS = [("Ada", "ada@example.com"), ("Bob", "bob@example.com")]
    settings.DEFAULT_FROM_EMAIL = "noreply@example.com"
    EmailNotifier().send(failing_transition(health="OK", previous="FAILING"))
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "noreply@example.com"
    assert sorted(envelope.rcpt_tos) == ["ada@example.com", "bob@example.com"]
    assert "is OK again" in parsed(envelope)["Subject"]


def test_plain_addresses_in_admins_work_too(smtp_server, settings):
    settings.ADMINS = ["ada@example.com"]  # the spelling of Django 6
    EmailNotifier().send(failing_transition())
    assert smtp_server.envelopes[0].rcpt_tos == ["ada@example.com"]


def test_no_address_is_a_clear_error(settings):
    settings.ADMINS = []
    with pytest.raises(NotifierError, match="no address to send to"):
        EmailNotifier().send(failing_transition())


def test_a_server_that_is_down_is_a_notifier_error(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_HOST_PASSWORD = "smtp-s3cret"
    with pytest.raises(NotifierError) as caught:
        EmailNotifier(to=["ops@example.com"]).send(failing_transition())
    text = str(caught.value)
    assert text.startswith("email to 1 address failed: ConnectionRefusedError")
    assert "smtp-s3cret" not in text
    assert caught.value.__cause__ is None
