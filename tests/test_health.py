"""The health of a command id (``health/judge.py``), from plain records and a frozen clock.

Each test is one moment in a command's life, told as the watcher would see it: the records it
read (newest first) and the time on its clock. Scenario tests move the clock with freezegun.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from freezegun import freeze_time

from monitorkit.health.judge import Health, assess
from monitorkit.health.schedules import Expectation
from monitorkit.record import RunRecord, Status, utcnow

UTC = dt.timezone.utc
STALE_AFTER = 90.0
#: ``Status.MISSED`` once record.py has it; the health module compares the stored value.
MISSED: Status = getattr(Status, "MISSED", "MISSED")
NIGHTLY = Expectation("nightly", "0 3 * * *", timezone="UTC", max_runtime=dt.timedelta(hours=1))
_ids = itertools.count()


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def run(
    started: dt.datetime,
    status: Status = Status.FINISHED,
    latest: dt.datetime | None = None,
    finished: dt.datetime | None = None,
) -> RunRecord:
    if finished is None and status not in (Status.STARTED, Status.RUNNING, MISSED):
        finished = started + dt.timedelta(minutes=2)
    return RunRecord(
        id="nightly",
        name="nightly",
        params="",
        run_id=f"run-{next(_ids)}",
        host="host",
        pid=1,
        started=started,
        status=status,
        latest=latest,
        finished=finished,
    )


def missed(at: dt.datetime) -> RunRecord:
    """A MISSED record as the watcher stores it: the expected start as its time."""
    return run(at, MISSED)


def health(runs, now, expectation=NIGHTLY, first_seen=None):
    return assess(expectation, runs, now, STALE_AFTER, first_seen)


# --- runs in progress --------------------------------------------------------------------


def test_running():
    got = health(
        [run(utc(2026, 5, 1, 3), Status.RUNNING, latest=utc(2026, 5, 1, 3, 10))],
        utc(2026, 5, 1, 3, 10, 30),
    )
    assert got.health is Health.RUNNING
    assert got.next_expected == utc(2026, 5, 2, 3)


def test_overrunning_past_max_runtime():
    running = run(utc(2026, 5, 1, 3), Status.RUNNING, latest=utc(2026, 5, 1, 4, 1))
    assert health([running], utc(2026, 5, 1, 4, 1, 30)).health is Health.OVERRUNNING
    assert health([running], utc(2026, 5, 1, 4, 1, 30), Expectation("n")).health is Health.RUNNING


def test_stale_when_the_heartbeat_is_silent():
    """No beat for more than ``stale_after``; with no beat at all, the start is the last sign."""
    beating = run(utc(2026, 5, 1, 3), Status.RUNNING, latest=utc(2026, 5, 1, 3, 5))
    assert health([beating], utc(2026, 5, 1, 3, 6, 31)).health is Health.STALE
    silent = run(utc(2026, 5, 1, 3), Status.STARTED)
    assert health([silent], utc(2026, 5, 1, 3, 1, 29)).health is Health.RUNNING
    assert health([silent], utc(2026, 5, 1, 3, 1, 31)).health is Health.STALE
    assert health([silent], utc(2026, 5, 1, 3, 1, 31), None).health is Health.STALE


def test_stale_run_then_a_missed_start_is_missed():
    """A run that died without a trace is no excuse for the next night's missing run."""
    dead = run(utc(2026, 5, 1, 3), Status.RUNNING, latest=utc(2026, 5, 1, 3, 5))
    got = health([dead], utc(2026, 5, 2, 3, 6))
    assert got.health is Health.MISSED and got.missed_at == utc(2026, 5, 2, 3)


# --- finished runs, with and without a schedule -----------------------------------------------


def test_ok_and_failing():
    assert health([run(utc(2026, 5, 1, 3))], utc(2026, 5, 1, 12)).health is Health.OK
    for status in (Status.FAILED, Status.SYSTEM_KILL):
        got = health([run(utc(2026, 5, 1, 3), status)], utc(2026, 5, 1, 12))
        assert got.health is Health.FAILING
        assert got.failures_in_row == 1


def test_without_schedule_only_the_runs_count():
    for expectation in (None, Expectation("nightly")):
        assert health([run(utc(2026, 1, 1))], utc(2026, 5, 1), expectation).health is Health.OK
        failed = [run(utc(2026, 1, 1), Status.FAILED)]
        assert health(failed, utc(2026, 5, 1), expectation).health is Health.FAILING
        assert health([], utc(2026, 5, 1), expectation).health is Health.NEW
        assert health([], utc(2026, 5, 1), expectation).next_expected is None


def test_missed_records_without_a_schedule_are_ignored():
    """The schedule was removed: old MISSED records no longer make the command MISSED."""
    runs = [missed(utc(2026, 5, 2, 3)), run(utc(2026, 5, 1, 3))]
    got = health(runs, utc(2026, 5, 3), Expectation("nightly"))
    assert got.health is Health.OK and got.last_run is runs[1]


def test_failures_in_row_skip_missed_records_and_stop_at_a_success():
    runs = [
        run(utc(2026, 5, 4, 3), Status.FAILED),
        missed(utc(2026, 5, 3, 3)),
        run(utc(2026, 5, 2, 3), Status.SYSTEM_KILL),
        run(utc(2026, 5, 1, 3), Status.FAILED),
        run(utc(2026, 4, 30, 3)),
        run(utc(2026, 4, 29, 3), Status.FAILED),
    ]
    got = health(runs, utc(2026, 5, 4, 12))
    assert got.health is Health.FAILING
    assert got.failures_in_row == 3
    assert got.last_run is runs[0]


# --- late, missed, and what comes after ------------------------------------------------------


def test_late_within_the_margin_then_missed():
    runs = [run(utc(2026, 5, 1, 3))]
    assert health(runs, utc(2026, 5, 2, 2, 59, 59)).health is Health.OK
    late = health(runs, utc(2026, 5, 2, 3, 0))
    assert late.health is Health.LATE and late.next_expected == utc(2026, 5, 2, 3)
    assert late.missed_at is None
    assert health(runs, utc(2026, 5, 2, 3, 4, 59)).health is Health.LATE
    got = health(runs, utc(2026, 5, 2, 3, 5))
    assert got.health is Health.MISSED
    assert got.missed_at == utc(2026, 5, 2, 3)
    assert got.next_expected == utc(2026, 5, 3, 3)


def test_a_custom_margin():
    patient = Expectation("nightly", "0 3 * * *", timezone="UTC", start_margin=3600)
    runs = [run(utc(2026, 5, 1, 3))]
    assert health(runs, utc(2026, 5, 2, 3, 59), patient).health is Health.LATE
    assert health(runs, utc(2026, 5, 2, 4, 0), patient).health is Health.MISSED


def test_a_stored_missed_record_keeps_the_command_missed_until_a_run():
    """One missed start is one MISSED record; the next start is judged on its own."""
    runs = [missed(utc(2026, 5, 2, 3)), run(utc(2026, 5, 1, 3))]
    got = health(runs, utc(2026, 5, 2, 3, 6))
    assert got.health is Health.MISSED
    assert got.missed_at is None, "already stored: nothing new to store"
    assert got.next_expected == utc(2026, 5, 3, 3)
    assert health(runs, utc(2026, 5, 3, 3, 1)).health is Health.MISSED, "not LATE"
    again = health(runs, utc(2026, 5, 3, 3, 5))
    assert again.health is Health.MISSED and again.missed_at == utc(2026, 5, 3, 3)
    back = health([run(utc(2026, 5, 3, 3, 10)), *runs], utc(2026, 5, 3, 4))
    assert back.health is Health.OK and back.missed_at is None


def test_a_watcher_down_for_days_stores_one_miss_for_the_gap():
    got = health([run(utc(2026, 5, 1, 3))], utc(2026, 5, 9, 12))
    assert got.health is Health.MISSED
    assert got.missed_at == utc(2026, 5, 9, 3), "the latest missed start"
    assert got.next_expected == utc(2026, 5, 10, 3)


def test_a_missed_record_stored_just_after_a_late_run_began_does_not_hide_it():
    """Stores give newest first by insertion; the run started first, so it counts."""
    late_run = run(utc(2026, 5, 2, 3, 4, 59), Status.RUNNING, latest=utc(2026, 5, 2, 3, 5))
    got = health([missed(utc(2026, 5, 2, 3)), late_run], utc(2026, 5, 2, 3, 5, 30))
    assert got.health is Health.RUNNING


def test_precedence_failing_over_late_and_missed_over_failing():
    failed = [run(utc(2026, 5, 1, 3), Status.FAILED)]
    assert health(failed, utc(2026, 5, 2, 3, 1)).health is Health.FAILING
    assert health(failed, utc(2026, 5, 2, 3, 5)).health is Health.MISSED


def test_an_early_start_is_not_a_missed_start():
    """The 03:00 job seen starting at 02:59:58 (clock skew) makes 03:00 neither late nor missed."""
    runs = [run(utc(2026, 5, 1, 2, 59, 58))]
    got = health(runs, utc(2026, 5, 1, 3, 10))
    assert got.health is Health.OK and got.next_expected == utc(2026, 5, 2, 3)


def test_an_interval_schedule():
    every_hour = Expectation("sync", dt.timedelta(hours=1), start_margin=60)
    runs = [run(utc(2026, 5, 1, 10, 17))]
    assert health(runs, utc(2026, 5, 1, 11, 16), every_hour).health is Health.OK
    assert health(runs, utc(2026, 5, 1, 11, 17, 30), every_hour).health is Health.LATE
    got = health(runs, utc(2026, 5, 1, 13, 20), every_hour)
    assert got.health is Health.MISSED and got.missed_at == utc(2026, 5, 1, 13, 17)


# --- never run: counted from first_seen ------------------------------------------------------


def test_never_run_counts_from_first_seen():
    """Declared at 10:00, never run: NEW until tomorrow 03:00, LATE, then MISSED."""
    first_seen = utc(2026, 5, 1, 10)
    got = health([], utc(2026, 5, 1, 10, 1), first_seen=first_seen)
    assert got.health is Health.NEW and got.next_expected == utc(2026, 5, 2, 3)
    assert got.last_run is None
    assert health([], utc(2026, 5, 2, 3, 1), first_seen=first_seen).health is Health.LATE
    missed_now = health([], utc(2026, 5, 2, 3, 5), first_seen=first_seen)
    assert missed_now.health is Health.MISSED and missed_now.missed_at == utc(2026, 5, 2, 3)
    after = health([missed(utc(2026, 5, 2, 3))], utc(2026, 5, 2, 12), first_seen=first_seen)
    assert after.health is Health.MISSED and after.last_run is None


def test_first_seen_unknown_means_now():
    got = health([], utc(2026, 5, 1, 10))
    assert got.health is Health.NEW and got.next_expected == utc(2026, 5, 2, 3)


# --- DST and a frozen clock --------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, last_run, resumed",
    [
        # 02:30 does not exist that night: the run is due when the clock resumes at 03:00.
        ("Europe/Paris", utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0)),
        ("America/New_York", utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0)),
    ],
)
def test_spring_forward_with_a_frozen_clock(zone, last_run, resumed):
    job = Expectation("job", "30 2 * * *", timezone=zone)
    runs = [run(last_run)]
    with freeze_time(resumed - dt.timedelta(seconds=1)) as clock:
        assert health(runs, utcnow(), job).health is Health.OK
        clock.tick(dt.timedelta(seconds=61))
        assert health(runs, utcnow(), job).health is Health.LATE
        clock.tick(dt.timedelta(minutes=5))
        got = health(runs, utcnow(), job)
        assert got.health is Health.MISSED and got.missed_at == resumed


@pytest.mark.parametrize(
    "zone, expr, ran_at",
    [
        # 02:30 comes twice that night: the run at the first one is the only one expected.
        ("Europe/Paris", "30 2 * * *", utc(2026, 10, 25, 0, 30)),
        ("America/New_York", "30 1 * * *", utc(2026, 11, 1, 5, 30)),
    ],
)
def test_fall_back_with_a_frozen_clock(zone, expr, ran_at):
    job = Expectation("job", expr, timezone=zone)
    runs = [run(ran_at)]
    with freeze_time(ran_at + dt.timedelta(hours=1, minutes=10)):  # the repeated time, +10 min
        got = health(runs, utcnow(), job)
    assert got.health is Health.OK
    assert got.next_expected == ran_at + dt.timedelta(days=1, hours=1)


def test_every_state_is_reached():
    """The tests above reach each health; this keeps the list honest when one is added."""
    assert {h.value for h in Health} == {
        "OK",
        "NEW",
        "RUNNING",
        "LATE",
        "MISSED",
        "FAILING",
        "OVERRUNNING",
        "STALE",
        "SUSPECT",  # tests/test_expectations.py
        "OVERLAPPING",  # tests/test_concurrency.py
    }


def test_each_health_carries_what_every_part_reads_of_it() -> None:
    """The traits the watcher, transitions, notifiers, signals and pages read (``healths.py``)."""
    from monitorkit.alerts.message import build_alert
    from monitorkit.health.watch import ALERTING
    from monitorkit.healths import Tone
    from monitorkit.signals import HEALTH_SIGNALS
    from monitorkit.transitions import HEALTHY, PROBLEMS, Transition

    assert {"LATE", "MISSED", "FAILING", "OVERRUNNING", "STALE", "SUSPECT"} == PROBLEMS
    assert {"OK", "RUNNING", "OVERLAPPING"} == HEALTHY
    assert {"MISSED", "FAILING", "OVERRUNNING", "STALE", "SUSPECT"} == ALERTING
    assert {h.value for h in Health if h.problem} == set(HEALTH_SIGNALS)  # a signal each
    order = sorted(Health, key=lambda h: h.urgency)
    assert [h.value for h in order] == [
        "FAILING", "MISSED", "STALE", "OVERRUNNING", "SUSPECT", "LATE", "OVERLAPPING", "RUNNING",
        "OK", "NEW",
    ]  # fmt: skip
    assert all(h.tone in (Tone.FAILURE, Tone.WARNING) for h in Health if h.problem)
    assert Health.of("STALE") is Health.STALE and Health.of(Health.OK) is Health.OK
    assert Health.of("SOMETHING_ELSE") is None and str(Health.MISSED) == "MISSED"
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for health in Health:
        alert = build_alert(Transition("nightly", "OK", health, at))
        assert health.words in alert.title + alert.text, health
