"""``recover_after`` in the one judge (``health/judge.py``), flapping's pure rules
(``health/flapping.py``), their words in an alert, and the checks of the two new keys.

Plain records and transitions, no store: the watcher's tests over every store are
``tests/stores/test_flapping_watch.py``, the process test ``tests/test_flapping_processes.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from monitorkit import monitor
from monitorkit.alerts.message import build_alert
from monitorkit.health import flapping, schedules
from monitorkit.health.judge import Health, Recovering, judge
from monitorkit.health.schedules import Expectation
from monitorkit.record import Status
from monitorkit.stores.health_store import PENDING, RETRYING, SENDING, SENT, WAITING
from monitorkit.transitions import Flapping, Notice, Transition
from tests.test_health import run, utc

STALE_AFTER = 90.0
T0 = utc(2026, 12, 6, 12, 0)
EVERY_10_MIN = dt.timedelta(minutes=10)


@pytest.fixture(autouse=True)
def empty_registry(monkeypatch):
    """Each test starts with no expectation declared by another."""
    monkeypatch.setattr(schedules, "_declarations", {})


def runs(*statuses: Status) -> list:
    """Records of finished runs ten minutes apart, the first given oldest; newest first."""
    made = [run(T0 + n * EVERY_10_MIN, status) for n, status in enumerate(statuses)]
    return list(reversed(made))


def judged(records: list, stored: str | None, recover_after: int = 3):
    expectation = Expectation("nightly", recover_after=recover_after)
    return judge(expectation, records, T0 + dt.timedelta(hours=2), STALE_AFTER, T0, stored)


# --- recover_after --------------------------------------------------------------------------


def test_a_stored_failing_stays_until_the_third_success_in_a_row():
    failed = [Status.FAILED]
    one = judged(runs(*failed, Status.FINISHED), "FAILING")
    assert one.health is Health.FAILING and one.recovering == Recovering(1, 3)
    assert one.recovering.describe() == "1 of 3 successes needed to recover"
    assert one.recovering_dict() == {"successes": 1, "needed": 3}
    two = judged(runs(*failed, Status.FINISHED, Status.FINISHED), "FAILING")
    assert two.health is Health.FAILING and two.recovering == Recovering(2, 3)
    three = judged(runs(*failed, *[Status.FINISHED] * 3), "FAILING")
    assert three.health is Health.OK and three.recovering is None


def test_a_failure_among_the_successes_starts_the_count_again():
    found = judged(runs(Status.FAILED, Status.FINISHED, Status.FAILED, Status.FINISHED), "FAILING")
    assert found.health is Health.FAILING and found.recovering == Recovering(1, 3)
    again = judged(runs(Status.FINISHED, Status.FINISHED, Status.FAILED), "FAILING")
    assert again.health is Health.FAILING and again.recovering is None  # failing, no success


def test_a_stale_run_needs_the_same_successes():
    dead = run(T0, Status.RUNNING, latest=T0)  # never finished, silent since
    records = [run(T0 + EVERY_10_MIN, Status.FINISHED), dead]
    found = judged(records, "STALE")
    assert found.health is Health.STALE and found.recovering == Recovering(1, 3)


def test_a_run_that_missed_its_expectations_is_no_success():
    records = runs(Status.FAILED, Status.FINISHED, Status.FINISHED, Status.FINISHED)
    records[1] = dataclasses.replace(records[1], unmet="ran 0.1 s, expected at least 30 s")
    found = judged(records, "FAILING")  # the newest success, then an unmet one
    assert found.health is Health.FAILING and found.recovering == Recovering(1, 3)


def test_only_failing_and_stale_wait_for_successes():
    assert judged(runs(Status.FAILED, Status.FINISHED), "MISSED").health is Health.OK
    assert judged(runs(Status.FAILED, Status.FINISHED), "OK").health is Health.OK


def test_without_a_stored_health_or_with_recover_after_1_one_success_recovers():
    """No watcher judged it (nothing stored, nothing alerted): judged run by run."""
    assert judged(runs(Status.FAILED, Status.FINISHED), None).health is Health.OK
    found = judged(runs(Status.FAILED, Status.FINISHED), "FAILING", recover_after=1)
    assert found.health is Health.OK and found.recovering is None


def test_a_retry_running_while_recovering_keeps_the_problem():
    records = [run(T0 + dt.timedelta(hours=2), Status.RUNNING)]
    records += runs(Status.FAILED, Status.FINISHED)
    found = judged(records, "FAILING")
    assert found.health is Health.FAILING and found.running


def test_more_records_are_read_for_a_large_recover_after(settings):
    from monitorkit.health.overview import FAILURES_COUNTED, judge_depth

    assert judge_depth({"a": Expectation("a")}) == FAILURES_COUNTED
    assert judge_depth({"a": Expectation("a", recover_after=25)}) == 25


# --- flapping: which changes count, when it starts, how long it is quiet --------------------


def change(previous: str, health: str, minutes: float, flap: Flapping | None = None) -> Transition:
    at = T0 + dt.timedelta(minutes=minutes)
    return Transition("nightly", previous, health, at, flapping=flap)


def stored(*transitions: Transition, alert: str = SENT) -> list[tuple[int, Transition, str]]:
    """The store's answer, newest first, for ``transitions`` given oldest first."""
    return [(n, t, alert) for n, t in reversed(list(enumerate(transitions, 1)))]


def test_only_changes_between_good_and_bad_health_count():
    assert flapping.is_change(change("OK", "FAILING", 0))
    assert flapping.is_change(change("NEW", "FAILING", 0))
    assert flapping.is_change(change("RUNNING", "STALE", 0))
    assert not flapping.is_change(change("OK", "RUNNING", 0))
    assert not flapping.is_change(change("FAILING", "MISSED", 0))
    settle = Flapping(Notice.SETTLED, T0, 4)
    assert not flapping.is_change(change("FAILING", "FAILING", 0, settle))


def test_the_change_past_the_threshold_is_the_notice():
    earlier = stored(
        change("NEW", "FAILING", 0),
        change("FAILING", "OK", 10),
        change("OK", "RUNNING", 15),  # not a change: not counted
        change("RUNNING", "FAILING", 20),
    )
    third = flapping.classify(change("FAILING", "OK", 30), earlier[1:], 3)
    assert third is None  # three in the hour: not more than 3
    fourth = flapping.classify(change("FAILING", "OK", 30), earlier, 3)
    assert fourth == Flapping(Notice.FLAPPING, T0 + dt.timedelta(minutes=90), 4)


def test_changes_older_than_an_hour_do_not_count():
    earlier = stored(
        change("NEW", "FAILING", 0),
        change("FAILING", "OK", 10),
        change("OK", "FAILING", 20),
    )
    assert flapping.classify(change("FAILING", "OK", 70), earlier, 2) is None
    assert flapping.classify(change("FAILING", "OK", 69), earlier, 2) is not None


def test_changes_while_flapping_are_quiet_and_push_the_settling_on():
    notice = Flapping(Notice.FLAPPING, T0 + dt.timedelta(minutes=90), 4)
    earlier = stored(change("FAILING", "OK", 30, notice))
    quiet = flapping.classify(change("OK", "FAILING", 40), earlier, 3)
    assert quiet == Flapping(Notice.QUIET, T0 + dt.timedelta(minutes=100), 5)
    running = flapping.classify(change("OK", "RUNNING", 40), earlier, 3)
    assert running == Flapping(Notice.QUIET, notice.until, 4)  # not a change: no later
    after = flapping.classify(change("OK", "FAILING", 90), earlier, 3)
    assert after is None  # it settled at 13:30 (no watcher said so yet): counted afresh


@pytest.mark.parametrize("state", [PENDING, SENDING, RETRYING])
def test_a_notice_not_yet_delivered_everywhere_is_carried_by_the_next_change(state):
    notice = Flapping(Notice.FLAPPING, T0 + dt.timedelta(minutes=90), 4)
    undelivered = stored(change("FAILING", "OK", 30, notice), alert=state)
    carried = flapping.classify(change("OK", "FAILING", 40), undelivered, 3)
    assert carried == Flapping(Notice.FLAPPING, T0 + dt.timedelta(minutes=100), 5, carried=True)
    assert Flapping.from_dict(carried.as_dict()) == carried
    delivered = stored(change("FAILING", "OK", 30, notice), alert=WAITING)
    quiet = flapping.classify(change("OK", "FAILING", 40), delivered, 3)
    assert quiet is not None and quiet.notice is Notice.QUIET and not quiet.carried


def test_after_settling_the_count_starts_again():
    notice = Flapping(Notice.SETTLED, T0 + dt.timedelta(minutes=90), 4)
    earlier = stored(change("NEW", "FAILING", 0), change("FAILING", "FAILING", 90, notice))
    assert flapping.classify(change("FAILING", "OK", 95), earlier, 1) is None


def test_the_settled_transition_is_the_same_for_every_watcher():
    notice = Flapping(Notice.QUIET, T0 + dt.timedelta(minutes=100), 5)
    last = change("OK", "FAILING", 40, notice)
    end = flapping.settled(last, None, 2)
    assert (end.previous, end.health, end.at) == ("FAILING", "FAILING", notice.until)
    assert end.notice is Notice.SETTLED and end.failures_in_row == 2
    assert end.id == flapping.settled(last, None, 2).id
    assert not end.is_recovery
    assert Transition.from_dict(end.as_dict()) == end


def test_a_plain_transition_is_stored_as_before():
    assert "flapping" not in change("OK", "FAILING", 0).as_dict()
    assert Transition.from_dict(change("OK", "FAILING", 0).as_dict()).flapping is None


def test_the_notice_and_the_settling_are_worded_for_a_person():
    notice = Flapping(Notice.FLAPPING, T0 + dt.timedelta(minutes=90), 4)
    alert = build_alert(change("FAILING", "OK", 30, notice))
    assert alert.title == "nightly is flapping (now OK)"
    assert "changed between good and bad 4 times within an hour" in alert.text
    assert "2026-12-06 13:30:00 UTC" in alert.text
    assert alert.fields()["flapping"]["notice"] == "flapping"
    settle = build_alert(flapping.settled(change("OK", "FAILING", 40, notice), None, 1))
    assert settle.title == "nightly has settled and is failing"
    assert "has stopped flapping" in settle.text
    assert build_alert(change("OK", "FAILING", 0)).fields()["flapping"] is None


# --- declarations and checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "check_id", "words"),
    [
        ({"recover_after": 0}, "monitorkit.W160", "whole number of 1 or more"),
        ({"recover_after": 2.5}, "monitorkit.W160", "whole number of 1 or more"),
        ({"recover_after": True}, "monitorkit.W160", "whole number of 1 or more"),
        ({"flap_threshold": 0}, "monitorkit.W161", "from 1 to 49"),
        ({"flap_threshold": 50}, "monitorkit.W161", "from 1 to 49"),
        ({"flap_threshold": "6"}, "monitorkit.W161", "from 1 to 49"),
    ],
)
def test_a_bad_value_is_one_warning_with_its_id_and_hint(settings, values, check_id, words):
    settings.MONITORKIT_SCHEDULES = {"nightly": {"schedule": "0 3 * * *", **values}}
    found = schedules.problems()
    assert [p.id for p in found] == [check_id]
    assert words in found[0].msg and "'nightly'" in found[0].msg
    assert found[0].hint
    expectation = schedules.discover()["nightly"]  # the default is used, the rest still counts
    assert (expectation.recover_after, expectation.flap_threshold) == (1, None)


def test_manage_py_check_reports_them_as_warnings_and_does_not_fail(settings):
    import io

    from django.core.management import call_command

    settings.MONITORKIT_SCHEDULES = {"nightly": {"recover_after": -1, "flap_threshold": 0}}
    stderr = io.StringIO()
    call_command("check", stderr=stderr)  # an Error would raise SystemCheckError here
    said = stderr.getvalue()
    assert "(monitorkit.W160)" in said and "(monitorkit.W161)" in said and "WARNINGS" in said
    assert "HINT: Use a whole number such as 1" in said


def test_every_way_of_declaring_them(settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "by_setting": {"recover_after": 3, "flap_threshold": 6},
    }
    monitor("by_decorator", recover_after=2, flap_threshold=4)

    class Command:
        monitor_recover_after = 5
        monitor_flap_threshold = 10

    assert schedules.class_values(Command) == {"recover_after": 5, "flap_threshold": 10}
    found = schedules.discover()
    assert (found["by_setting"].recover_after, found["by_setting"].flap_threshold) == (3, 6)
    by_decorator = found["by_decorator"]
    assert (by_decorator.recover_after, by_decorator.flap_threshold) == (2, 4)
    default = Expectation("plain")
    assert (default.recover_after, default.flap_threshold) == (1, None)
