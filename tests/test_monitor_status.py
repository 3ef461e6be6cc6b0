"""``manage.py monitor_status`` over the embedded store."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from freezegun import freeze_time

from monitorkit.management.commands.monitor_status import Command as MonitorStatus
from monitorkit.management.commands.monitor_status import describe_age
from monitorkit.record import Status, utcnow
from monitorkit.reporters.database import DatabaseReporter
from tests.reporters.test_database import finish, make_record

pytestmark = pytest.mark.django_db(transaction=True)


def status(*args: str) -> str:
    out = io.StringIO()
    call_command("monitor_status", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def history(settings):
    settings.FIREBASE_MONITORING_INTERVAL_PING = 10
    reporter = DatabaseReporter()
    with freeze_time("2024-01-01 00:00:00"):
        done = make_record("import__day_1")
        reporter.start_run(done)
    with freeze_time("2024-01-01 00:01:30"):
        reporter.finish_run(finish(done))
        failed = make_record("export")
        reporter.start_run(failed)
        failed.status, failed.finished, failed.message = Status.FAILED, utcnow(), "disk full"
        reporter.finish_run(failed)
        reporter.start_run(make_record("worker"))  # its heartbeat stops here
    with freeze_time("2024-01-01 00:02:00"):
        live = make_record("poller")
        reporter.start_run(live)
    return reporter


def test_one_line_per_command_with_status_start_duration_and_heartbeat(history):
    with freeze_time("2024-01-01 00:02:10"):
        lines = status().splitlines()
    assert lines[0].split()[:6] == ["COMMAND", "ID", "SEQ", "STATUS", "STARTED", "DURATION"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"export", "import__day_1", "poller", "worker"}
    assert "FINISHED" in rows["import__day_1"] and "90.0s" in rows["import__day_1"]
    assert "2024-01-01T00:00:00.000000Z" in rows["import__day_1"]
    assert "FAILED" in rows["export"] and "disk full" in rows["export"]
    assert "STARTED (stale)" in rows["worker"] and "40s ago" in rows["worker"]
    assert "(stale)" not in rows["poller"] and "10s ago" in rows["poller"]


def test_history_of_one_command(history):
    history.start_run(make_record("export"))
    lines = status("--command", "export").splitlines()
    assert [line.split()[1] for line in lines[1:]] == ["2", "1"]


def test_json_output(history):
    with freeze_time("2024-01-01 00:02:10"):
        data = json.loads(status("--json"))
    by_id = {run["id"]: run for run in data}
    assert by_id["worker"]["stale"] is True
    assert by_id["poller"]["stale"] is False
    assert by_id["import__day_1"]["duration"] == 90.0
    assert by_id["export"]["message"] == "disk full"


def test_empty_store():
    assert status() == "No runs recorded yet.\n"


def test_no_store_is_a_clear_error(settings):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "monitorkit"]
    with pytest.raises(CommandError, match="INSTALLED_APPS"):
        call_command(MonitorStatus())


@pytest.mark.parametrize(
    "seconds,text", [(5, "5s"), (65, "1m 05s"), (3 * 3600 + 600, "3h 10m"), (90000, "1d 1h")]
)
def test_ages_read_at_a_glance(seconds, text):
    assert describe_age(seconds) == text
