"""``manage.py monitor_status`` over the embedded store."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from freezegun import freeze_time

from monitorkit.management.commands.monitor_status import Command as MonitorStatus
from monitorkit.record import Status, utcnow
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.stores.health_store import HealthState
from monitorkit.words import describe_age
from tests.stores.test_database import finish, make_record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_declared_schedule(settings):
    """The test app's scheduled_command declares a schedule; most tests here look at runs only."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


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
        reporter.write(done)
    with freeze_time("2024-01-01 00:01:30"):
        reporter.write(finish(done))
        failed = make_record("export")
        reporter.write(failed)
        failed.status, failed.finished, failed.message = Status.FAILED, utcnow(), "disk full"
        reporter.write(failed)
        reporter.write(make_record("worker"))  # its heartbeat stops here
    with freeze_time("2024-01-01 00:02:00"):
        live = make_record("poller")
        reporter.write(live)
    return reporter


def test_one_line_per_command_with_status_start_duration_and_heartbeat(history):
    with freeze_time("2024-01-01 00:02:10"):
        lines = status().splitlines()
    assert lines[0].split()[:7] == [
        "COMMAND",
        "ID",
        "HEALTH",
        "SEQ",
        "STATUS",
        "STARTED",
        "DURATION",
    ]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"export", "import__day_1", "poller", "worker"}
    assert "FINISHED" in rows["import__day_1"] and "90.0s" in rows["import__day_1"]
    assert "2024-01-01T00:00:00.000000Z" in rows["import__day_1"]
    assert "FAILED" in rows["export"] and "disk full" in rows["export"]
    # A run that stopped beating is shown STALE by the judge, never by its stored STARTED.
    assert rows["worker"].split()[1:4:2] == ["STALE", "STALE"] and "40s ago" in rows["worker"]
    assert rows["poller"].split()[1:4:2] == ["RUNNING", "STARTED"] and "10s ago" in rows["poller"]


def test_history_of_one_command(history):
    history.write(make_record("export"))
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


ESCAPES = "\x1b[2J\x1b]0;owned\x07\u202egnp.exe\x9b1m"


def test_terminal_escape_sequences_in_a_message_are_shown_escaped():
    reporter = DatabaseReporter()
    record = make_record("evil\u202eid", message=f"boom {ESCAPES} end")
    reporter.write(record)
    out = status()
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x9b" not in out
    assert "boom \\x1b[2J\\x1b]0;owned\\x07\\u202egnp.exe\\x9b1m end" in out
    assert "evil\\u202eid" in out
    header, row = out.splitlines()
    assert row.index("STARTED") == header.index("STATUS")  # widths count what is printed


def test_json_output_escapes_them_too():
    DatabaseReporter().write(make_record("cmd", message=f"boom {ESCAPES}"))
    out = status("--json")
    assert not any(ch in out for ch in "\x1b\x07\u202e\x9b")
    assert json.loads(out)[0]["message"] == f"boom {ESCAPES}"


def test_health_and_next_run_beside_the_last_run(history, settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "import__day_1": {"schedule": "0 * * * *", "start_margin": 300},
        "nightly_never_ran": {"schedule": "0 3 * * *", "timezone": "UTC"},
    }
    with freeze_time("2024-01-01 00:02:10"):
        rows = {line.split()[0]: line.split() for line in status().splitlines()[1:]}
        data = {item["id"]: item for item in json.loads(status("--json"))}
    assert rows["export"][1] == "FAILING"
    assert rows["worker"][1] == "STALE"
    assert rows["poller"][1] == "RUNNING"
    assert rows["import__day_1"][1] == "OK"
    assert "2024-01-01T01:00:00.000000Z" in rows["import__day_1"]
    assert rows["nightly_never_ran"][1] == "NEW"
    assert data["export"]["health"] == "FAILING"
    assert data["import__day_1"]["next_expected"] == "2024-01-01T01:00:00.000000Z"
    assert data["nightly_never_ran"] == {
        "id": "nightly_never_ran",
        "health": "NEW",
        "judged_by": "reader",  # no watcher runs
        "failures_in_row": 0,
        "running": False,
        "next_expected": "2024-01-01T03:00:00.000000Z",
        "recovering": None,
        "snoozed": False,
        "snoozed_until": None,
        "watcher_silent": True,  # schedules, and no watcher ever ran
        "watcher_last_cycle": None,
    }
    with freeze_time("2024-01-01 03:10:00"):  # nobody watched: it counts from now
        rows = {line.split()[0]: line.split() for line in status().splitlines()[1:]}
    assert rows["nightly_never_ran"][1] == "NEW"

    # A watcher saw the schedule at 00:02:10: the 03:00 start is missed by 03:10.
    first = dt.datetime(2024, 1, 1, 0, 2, 10, tzinfo=dt.timezone.utc)
    history.health_store().record_first_sight(HealthState("nightly_never_ran", "NEW", first, first))
    with freeze_time("2024-01-01 03:10:00"):
        rows = {line.split()[0]: line.split() for line in status().splitlines()[1:]}
    assert rows["nightly_never_ran"][1] == "MISSED"


def test_records_waiting_in_the_spool_are_counted(settings, tmp_path):
    from monitorkit.recording.spool import Spool

    settings.MONITORKIT_SPOOL_DIR = str(tmp_path / "spool")
    Spool(tmp_path / "spool").put(DatabaseReporter(), make_record("export"))
    out = io.StringIO()
    err = io.StringIO()
    call_command("monitor_status", stdout=out)
    assert "1 record(s) wait in the spool" in out.getvalue()
    call_command("monitor_status", "--json", stdout=out, stderr=err)
    assert "1 record(s) wait in the spool" in err.getvalue()


def test_a_command_whose_class_declares_a_schedule_shows_before_it_ever_ran(settings):
    settings.MONITORKIT_SCHEDULES = {}  # scheduled_command's class: every second, never run
    rows = {line.split()[0]: line.split() for line in status().splitlines()[1:]}
    assert rows["scheduled_command"][1] == "NEW"
