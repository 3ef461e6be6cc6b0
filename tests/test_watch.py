"""The watcher's policy over the embedded store, with a real notifier to a real local server.

Runs are stored through the database reporter; time is frozen, so each case says exactly when.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from monitorkit import signals
from monitorkit.alerts.webhook import WebhookNotifier
from monitorkit.health.watch import Watcher
from monitorkit.record import RunRecord, Status, format_timestamp
from monitorkit.stores.database.runs import DatabaseReporter
from tests.stores.test_database import make_record

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


def store_run(reporter: DatabaseReporter, command_id: str, status: Status, at: dt.datetime) -> None:
    record: RunRecord = make_record(command_id, started=at, latest=at)
    record.status = status
    record.finished = at + dt.timedelta(seconds=5)
    record.latest = record.finished
    record.message = "the feed is down" if status is Status.FAILED else "Command finished"
    reporter.write(record)


@pytest.fixture(autouse=True)
def _only_these_schedules(settings):
    """The test app's scheduled_command declares a schedule; these tests declare their own."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


@pytest.fixture
def reporter() -> DatabaseReporter:
    return DatabaseReporter()


@pytest.fixture
def watch(reporter, http_sink):
    def cycle(at: dt.datetime) -> Any:
        watcher = Watcher(
            reporter,
            reporter.health_store(),
            [WebhookNotifier(f"{http_sink.url}/hook", timeout=2, retries=0)],
        )
        with freeze_time(at):
            return watcher.cycle()

    return cycle


def healths(reporter: DatabaseReporter, command_id: str) -> list[tuple[str, str, str]]:
    stored = reporter.health_store().transitions(command_id, limit=50)
    return [(t.previous, t.health, alert) for _, t, alert in reversed(stored)]


def test_alert_after_two_failures_in_a_row_then_recovery(reporter, watch, http_sink, settings):
    settings.MONITORKIT_SCHEDULES.update({"nightly": {"alert_after": 2}})
    store_run(reporter, "nightly", Status.FAILED, T0)
    watch(T0 + dt.timedelta(minutes=1))
    assert healths(reporter, "nightly") == [("NEW", "FAILING", "waiting")]
    assert http_sink.requests == []  # one failure: below alert_after

    store_run(reporter, "nightly", Status.FAILED, T0 + dt.timedelta(hours=1))
    watch(T0 + dt.timedelta(hours=1, minutes=1))
    assert healths(reporter, "nightly") == [("NEW", "FAILING", "sent")]
    assert [r.json()["failures_in_row"] for r in http_sink.requests] == [2]

    store_run(reporter, "nightly", Status.FINISHED, T0 + dt.timedelta(hours=2))
    report = watch(T0 + dt.timedelta(hours=2, minutes=1))
    assert [t.health for t in report.transitions] == ["OK"]
    assert healths(reporter, "nightly")[-1] == ("FAILING", "OK", "sent")
    assert [r.json()["health"] for r in http_sink.requests] == ["FAILING", "OK"]


def test_a_recovery_nobody_was_told_of_is_not_announced(reporter, watch, http_sink, settings):
    settings.MONITORKIT_SCHEDULES.update({"nightly": {"alert_after": 3}})
    store_run(reporter, "nightly", Status.FAILED, T0)
    watch(T0 + dt.timedelta(minutes=1))
    store_run(reporter, "nightly", Status.FINISHED, T0 + dt.timedelta(hours=1))
    watch(T0 + dt.timedelta(hours=1, minutes=1))
    assert healths(reporter, "nightly") == [("NEW", "FAILING", "none"), ("FAILING", "OK", "none")]
    assert http_sink.requests == []


def test_a_muted_command_changes_health_but_alerts_nothing(reporter, watch, http_sink, settings):
    settings.MONITORKIT_SCHEDULES.update({"noisy": {"muted": True}})
    store_run(reporter, "noisy", Status.FAILED, T0)
    watch(T0 + dt.timedelta(minutes=1))
    assert healths(reporter, "noisy") == [("NEW", "FAILING", "none")]
    assert http_sink.requests == []


def test_a_retry_that_starts_is_not_yet_a_recovery(reporter, watch, settings):
    store_run(reporter, "nightly", Status.FAILED, T0)
    watch(T0 + dt.timedelta(minutes=1))
    retry = make_record("nightly", started=T0 + dt.timedelta(minutes=2))
    retry.latest = retry.started
    reporter.write(retry)
    report = watch(T0 + dt.timedelta(minutes=2, seconds=1))
    assert report.transitions == []  # still FAILING until the retry ends


def test_late_then_missed_by_cron_with_a_margin(reporter, watch, http_sink, settings):
    settings.MONITORKIT_SCHEDULES.update({"hourly": {"schedule": "0 * * * *", "start_margin": 600}})
    heard: list[str] = []

    def receiver(health: str, **kwargs: Any) -> None:
        heard.append(health)

    signals.command_late.connect(receiver, weak=False)
    signals.command_missed.connect(receiver, weak=False)
    try:
        store_run(reporter, "hourly", Status.FINISHED, T0)
        watch(T0 + dt.timedelta(minutes=30))
        watch(T0 + dt.timedelta(hours=1, minutes=5))  # due at 13:00, within 10 minutes
        watch(T0 + dt.timedelta(hours=1, minutes=11))  # past the margin
        watch(T0 + dt.timedelta(hours=1, minutes=30))  # unchanged: no second alert
    finally:
        signals.command_late.disconnect(receiver)
        signals.command_missed.disconnect(receiver)
    assert healths(reporter, "hourly") == [("OK", "LATE", "none"), ("LATE", "MISSED", "sent")]
    assert heard == ["LATE", "MISSED"]
    missed = [r for r in reporter.command_history("hourly") if r.status is Status.MISSED]
    assert [r.started for r in missed] == [T0 + dt.timedelta(hours=1)]
    assert len(http_sink.requests) == 1
    # The alert names the start that was missed, in words, not only the moment it was judged.
    alert = http_sink.requests[0].json()
    due = (T0 + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    judged = (T0 + dt.timedelta(hours=1, minutes=10)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"Missed start: {due} (no run had started by {judged})" in alert["text"]
    assert alert["missed_start"] == format_timestamp(T0 + dt.timedelta(hours=1))
    assert ".000000Z" not in alert["text"] and "When:" not in alert["text"]
    stored = [t for _, t, _ in reporter.health_store().transitions("hourly", limit=5)]
    assert [t.missed_start for t in stored if t.health == "MISSED"] == [T0 + dt.timedelta(hours=1)]


def _cycle_queries(reporter: DatabaseReporter, ids: int, at: dt.datetime) -> int:
    for n in range(ids):
        store_run(reporter, f"job{n:04d}", Status.FINISHED, T0)
    watcher = Watcher(reporter, reporter.health_store(), [])
    with freeze_time(at):
        watcher.cycle()  # first sight of the new ids
        with CaptureQueriesContext(connection) as queries:
            watcher.cycle()
    return len(queries)


def test_a_cycle_costs_the_same_queries_for_10_or_60_command_ids(reporter, settings):
    small = _cycle_queries(reporter, 10, T0 + dt.timedelta(minutes=1))
    large = _cycle_queries(reporter, 60, T0 + dt.timedelta(minutes=2))
    assert small == large
    assert large <= 6  # one more than before snoozes: the cycle reads them (one query)


def test_a_first_sight_waits_for_another_process_s_write_lock_on_sqlite(reporter):
    """A command's heartbeat (another connection) holds SQLite's write lock for a moment.

    The watcher's first sight of a command id must wait for it, as any write does, not fail at
    once with "database is locked" (a transaction that reads before it writes is refused
    without waiting): the judgement of that command id would be lost for the cycle.
    """
    import sqlite3
    import threading

    from monitorkit.stores.health_store import HealthState

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's locking")
    other = sqlite3.connect(
        connection.settings_dict["NAME"], timeout=10, isolation_level=None, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")  # the write lock, as a heartbeat in progress holds it
    release = threading.Timer(0.5, other.execute, ["COMMIT"])
    release.start()
    try:
        reporter.health_store().record_first_sight(HealthState("nightly", "NEW", T0, T0))
    finally:
        release.join()
        other.close()
    assert reporter.health_store().states()["nightly"].first_seen == T0


def test_the_stop_handler_never_waits_for_the_lock_its_own_thread_holds():
    """SIGTERM may arrive while the main thread holds the stop event's lock (inside
    ``stop.wait``); the handler runs on that thread, so it must not take that lock itself."""
    from monitorkit.management.commands.monitor_watch import stopper

    stop = threading.Event()
    handler = stopper(stop)

    def main_thread_inside_wait() -> None:
        with stop._cond:  # what Event.wait holds between taking its lock and waiting
            handler(signal.SIGTERM, None)

    caught = threading.Thread(target=main_thread_inside_wait, daemon=True)
    caught.start()
    caught.join(10)
    assert not caught.is_alive(), "the handler waited for a lock its own thread holds"
    assert stop.wait(10)
