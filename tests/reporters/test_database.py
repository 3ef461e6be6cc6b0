"""The embedded store (``monitorkit/reporters/database.py``) against a real SQLite file."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from freezegun import freeze_time

from monitorkit import MonitoredCommand
from monitorkit.models import CommandRun
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.reporters.database import DatabaseReporter

pytestmark = pytest.mark.django_db(transaction=True)


def make_record(command_id: str = "cmd", **fields: Any) -> RunRecord:
    now = utcnow()
    values: dict[str, Any] = {
        "id": command_id,
        "name": command_id,
        "params": "",
        "run_id": uuid.uuid4().hex,
        "host": "h",
        "pid": 1,
        "started": now,
        "latest": now,
    }
    values.update(fields)
    return RunRecord(**values)


def finish(record: RunRecord) -> RunRecord:
    record.status = Status.FINISHED
    record.finished = record.latest = utcnow()
    return record


def test_seq_increases_per_command_id():
    reporter = DatabaseReporter()
    for command_id in ("a", "a", "b", "a"):
        reporter.start_run(make_record(command_id))
    assert [r.seq for r in reporter.command_history("a")] == [3, 2, 1]
    assert [r.seq for r in reporter.command_history("b")] == [1]


def test_retention_keeps_exactly_the_setting(settings):
    settings.MONITORKIT_RETENTION = 5
    reporter = DatabaseReporter()
    for _ in range(8):
        record = make_record()
        reporter.start_run(record)
        reporter.finish_run(finish(record))
    assert [r.seq for r in reporter.command_history("cmd")] == [8, 7, 6, 5, 4]


def test_retention_default_is_100():
    reporter = DatabaseReporter()
    for _ in range(103):
        reporter.start_run(make_record())
    history = reporter.command_history("cmd")
    assert len(history) == 100
    assert history[-1].seq == 4


def test_finish_without_a_stored_start_still_stores_the_run():
    record = finish(make_record())
    DatabaseReporter().finish_run(record)
    (row,) = CommandRun.objects.all()
    assert row.status == "FINISHED"
    assert row.seq == 1


def test_stale_run_is_marked_killed_and_a_live_one_is_not(settings):
    settings.FIREBASE_MONITORING_INTERVAL_PING = 10  # stale after 30 s by default
    reporter = DatabaseReporter()
    with freeze_time("2024-01-01 00:00:00"):
        dead = make_record()
        reporter.start_run(dead)
    with freeze_time("2024-01-01 00:00:25"):
        alive = make_record()
        reporter.start_run(alive)
        alive.latest = utcnow()
        reporter.heartbeat(alive)
    with freeze_time("2024-01-01 00:00:40"):
        reporter.start_run(make_record())
    states = {r.run_id: r for r in reporter.command_history("cmd")}
    assert states[dead.run_id].status is Status.SYSTEM_KILL
    assert states[dead.run_id].message == (
        "Presumed killed: no heartbeat since 2024-01-01T00:00:00.000000Z (more than 30 s) "
        "when a new run of the same command started"
    )
    assert states[alive.run_id].status is Status.STARTED  # 15 s old: alive


def test_other_command_ids_are_left_alone(settings):
    reporter = DatabaseReporter()
    with freeze_time("2024-01-01 00:00:00"):
        other = make_record("other")
        reporter.start_run(other)
    with freeze_time("2024-01-02 00:00:00"):
        reporter.start_run(make_record("cmd"))
    assert reporter.command_history("other")[0].status is Status.STARTED


def test_latest_runs_gives_the_newest_run_of_each_command():
    reporter = DatabaseReporter()
    for command_id in ("b", "a", "a"):
        reporter.start_run(make_record(command_id))
    latest = reporter.latest_runs()
    assert [(r.id, r.seq) for r in latest] == [("a", 2), ("b", 1)]


def test_naive_datetimes_when_use_tz_is_off(settings):
    settings.USE_TZ = False
    reporter = DatabaseReporter()
    with freeze_time("2024-03-03 10:00:00"):
        reporter.start_run(make_record())
    (record,) = reporter.command_history("cmd")
    assert record.started == dt.datetime(2024, 3, 3, 10, tzinfo=dt.timezone.utc)


class Noop(MonitoredCommand):
    monitor_command_name = "noop"

    def handle(self, *args: Any, **options: Any) -> None:
        pass


def test_run_is_committed_even_when_the_callers_transaction_rolls_back(settings, caplog):
    settings.MONITORKIT_FLUSH_TIMEOUT = 0.2

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        call_command(Noop())
        raise Undo  # the caller's transaction is undone; the run is not
    deadline = time.monotonic() + 20
    while not CommandRun.objects.filter(status="FINISHED").exists():
        assert time.monotonic() < deadline, "the run never arrived"
        time.sleep(0.05)
    assert CommandRun.objects.get().command_id == "noop"
