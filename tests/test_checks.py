"""Settings problems in ``manage.py check`` and as one warning at run time."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from monitorkit import MonitoredCommand, conf
from monitorkit.checks import check_settings
from monitorkit.models import CommandRun


@pytest.fixture(autouse=True)
def fresh_warnings():
    conf._warned.clear()
    yield
    conf._warned.clear()


def ids() -> list[str]:
    return [message.id for message in check_settings()]


def test_good_settings_have_no_problems():
    assert ids() == []


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("TESTING", "yes", "monitorkit.E001"),
        ("FIREBASE_MONITORING_RUN", 0, "monitorkit.E001"),
        ("FIREBASE_MONITORING_INTERVAL_PING", -5, "monitorkit.E002"),
        ("FIREBASE_MONITORING_INTERVAL_PING", "30", "monitorkit.E002"),
        ("MONITORKIT_FLUSH_TIMEOUT", 0, "monitorkit.E002"),
        ("MONITORKIT_RETENTION", 2.5, "monitorkit.E003"),
        ("FIREBASE_MONITORING", "https://x.firebaseio.com", "monitorkit.E004"),
        ("MONITORKIT_REPORTERS", "a.B", "monitorkit.E007"),
        ("MONITORKIT_REPORTERS", ["no.such.Reporter"], "monitorkit.E008"),
        ("MONITORKIT_HTTP_TIMEOUT", (3, "5"), "monitorkit.E009"),
        ("MONITORKIT_HTTP_TIMEOUT", -1, "monitorkit.E009"),
        ("MONITORKIT_DATABASE_ALIAS", "replica", "monitorkit.E010"),
    ],
)
def test_each_bad_setting_has_its_id_and_a_hint(settings, name, value, expected):
    setattr(settings, name, value)
    (message,) = [m for m in check_settings() if m.id == expected]
    assert message.hint
    assert isinstance(message, checks.Error)


def test_firebase_dict_missing_what_it_needs(settings):
    settings.FIREBASE_MONITORING = {"API_KEY": "k"}
    assert ids() == ["monitorkit.E005", "monitorkit.E006"]


def test_an_empty_firebase_key_is_an_error(settings):
    settings.FIREBASE_MONITORING = {"NAME": "db"}
    settings.FIREBASE_MONITORING_KEY = ""
    assert ids() == ["monitorkit.E006"]


def test_good_http_timeouts_pass(settings):
    for value in (5, 2.5, (3.05, 10), [1, 2]):
        settings.MONITORKIT_HTTP_TIMEOUT = value
        assert ids() == []


def test_nowhere_to_send_is_a_warning(settings):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "monitorkit"]
    (message,) = check_settings()
    assert message.id == "monitorkit.W001"
    assert isinstance(message, checks.Warning)


@pytest.mark.django_db  # Django 6's check also looks at the database
def test_manage_py_check_reports_them(settings):
    settings.FIREBASE_MONITORING_INTERVAL_PING = -1
    with pytest.raises(SystemCheckError, match=r"monitorkit\.E002"):
        call_command("check")


class Noop(MonitoredCommand):
    monitor_command_name = "noop"

    def handle(self, *args: Any, **options: Any) -> str:
        return "done"


@pytest.mark.django_db(transaction=True)
def test_at_run_time_one_warning_and_the_command_still_runs(settings, caplog):
    settings.FIREBASE_MONITORING_INTERVAL_PING = -1
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        assert call_command(Noop()) == "done"
        assert call_command(Noop()) == "done"
    warnings = [r for r in caplog.records if "settings need attention" in r.getMessage()]
    assert len(warnings) == 1
    assert "monitorkit.E002" in warnings[0].getMessage()
    assert CommandRun.objects.count() == 2  # the default interval is used meanwhile
