"""A snooze set with ``monitor_snooze`` and the watcher, in this process, time moved by freezegun.

Runs are stored through the database reporter; alerts go to a real local webhook. The snooze is
set by the command itself (``call_command``) at a frozen time, so its two hours pass for real
as far as every part reading the clock can tell.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from monitorkit.record import Status
from tests.test_watch import T0, reporter, store_run, watch  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _only_these_schedules(settings):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


def test_a_snooze_set_by_the_command_holds_then_ends_with_one_posted_summary(
    reporter,  # noqa: F811
    watch,  # noqa: F811
    http_sink,
):
    out = io.StringIO()
    with freeze_time(T0):
        call_command(
            "monitor_snooze", "nightly", "--for", "2h", "--reason", "disk swap", stdout=out
        )
    assert out.getvalue().startswith("snoozed nightly until 2026-11-30 14:00:00 UTC")
    store_run(reporter, "nightly", Status.FAILED, T0 + dt.timedelta(minutes=10))
    store_run(reporter, "export", Status.FAILED, T0 + dt.timedelta(minutes=10))
    watch(T0 + dt.timedelta(minutes=11))
    assert [r.json()["command_id"] for r in http_sink.requests] == ["export"]
    with freeze_time(T0 + dt.timedelta(hours=1)):
        listed = io.StringIO()
        call_command("monitor_snooze", "--list", stdout=listed)
    assert "  nightly  running  2026-11-30 12:00:00 UTC -> 2026-11-30 14:00:00 UTC" in (
        listed.getvalue()
    )
    watch(T0 + dt.timedelta(hours=1, minutes=59))  # still snoozed: still held
    assert len(http_sink.requests) == 1

    watch(T0 + dt.timedelta(hours=2, minutes=1))
    watch(T0 + dt.timedelta(hours=2, minutes=2))
    assert len(http_sink.requests) == 2
    summary = http_sink.requests[1].json()
    assert summary["command_id"] == "nightly" and summary["health"] == "FAILING"
    assert summary["snooze"] and summary["id"] == (
        f"nightly:summary:{summary['snooze']}:2026-11-30T14:00:00.000000Z"
    )
    assert "disk swap" in summary["summary"] and "Runs that failed meanwhile: 1." in summary["text"]
    with freeze_time(T0 + dt.timedelta(hours=3)):
        listed = io.StringIO()
        call_command("monitor_snooze", "--list", stdout=listed)
    assert "  nightly  summarised  " in listed.getvalue()
