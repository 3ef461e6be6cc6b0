"""Expectations about a run's outcome (``monitorkit/expectations.py``): the metadata language,
what a finished record misses, how a run reads them and stores ``unmet``, and the judge's
``SUSPECT``. The real processes and alerts: ``tests/test_expectation_processes.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest

import monitorkit
from monitorkit import MonitoredCommand
from monitorkit.expectations import (
    OUTCOME_KEYS,
    MetadataCheck,
    OutcomeExpectation,
    Usual,
    check_bound,
    parse_check,
    parse_outliers,
)
from monitorkit.health import schedules
from monitorkit.health.judge import Health, assess, judge
from monitorkit.health.schedules import Expectation
from monitorkit.mixins import expectations as mixin
from monitorkit.mixins.base import declared_in_schedules
from monitorkit.models import CommandRun
from monitorkit.record import RunRecord, Status

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def record(
    seconds: float = 1.0, metadata: dict | None = None, status: Status = Status.FINISHED, **kw
) -> RunRecord:
    started = kw.pop("started", T0)
    return RunRecord(
        id="nightly",
        name="nightly",
        params="",
        run_id=kw.pop("run_id", "r1"),
        host="h",
        pid=1,
        started=started,
        status=status,
        finished=started + dt.timedelta(seconds=seconds),
        metadata=metadata or {},
        **kw,
    )


# --- the metadata language -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, metadata, reason",
    [
        ("rows > 0", {"rows": 3}, None),
        ("rows > 0", {"rows": 0}, "rows = 0, expected rows > 0"),
        ("rows >= 10 and errors == 0", {"rows": 10, "errors": 0}, None),
        (
            "rows >= 10 and errors == 0",
            {"rows": 10, "errors": 2},
            "errors = 2, expected errors == 0",
        ),
        ("rows > 0", {}, "metadata has no rows, expected rows > 0"),
        ("rows > 0", {"rows": "12"}, 'rows = "12", expected rows > 0'),  # a number is needed
        ("rows > 0", {"rows": True}, "rows = true, expected rows > 0"),
        ('mode == "full"', {"mode": "full"}, None),
        ('mode != "full"', {"mode": "full"}, 'mode = "full", expected mode != "full"'),
        ("done == true and skipped == null", {"done": True, "skipped": None}, None),
        ("ratio <= 0.5", {"ratio": 0.75}, "ratio = 0.75, expected ratio <= 0.5"),
        ("  rows>0   and   rows<1e3 ", {"rows": 999}, None),
    ],
)
def test_conditions_on_the_metadata(text, metadata, reason):
    assert parse_check(text)(record(metadata=metadata)) == reason


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "expected a condition"),
        ("rows >", "expected a condition"),
        ("rows > x", "is not a number"),
        ("rows > 0 or errors > 0", "expected 'and'"),
        ('rows > "0"', "> needs a number"),
        ("__import__('os').system('x')", "expected a condition"),  # never Python
        ("rows > 0 and", "expected 'and'"),
    ],
)
def test_a_bad_condition_says_what_is_wrong(text, words):
    with pytest.raises(ValueError, match=words):
        parse_check(text)


def test_a_check_is_a_callable_or_conditions():
    assert parse_check(None) is None
    assert parse_check(len) is len
    assert parse_check("rows > 0") == MetadataCheck("rows  >  0")
    with pytest.raises(ValueError, match="callable given the run's record"):
        parse_check(42)


# --- what a finished record misses -----------------------------------------------------------


def test_duration_bounds():
    expectation = OutcomeExpectation.from_values({"min_duration": 30, "max_duration": 60})
    assert expectation is not None
    assert expectation.unmet(record(0.1), 1) == "ran 0.1 s, expected at least 30 s"
    assert expectation.unmet(record(30), 1) is None
    assert expectation.unmet(record(75), 1) == "ran 75 s, expected at most 60 s"
    late = OutcomeExpectation.from_values({"max_duration": dt.timedelta(minutes=1)})
    assert late is not None and late.unmet(record(61.5), 1) == "ran 61.5 s, expected at most 60 s"


def test_every_miss_is_said():
    expectation = OutcomeExpectation.from_values({"min_duration": 30, "check": "rows > 0"})
    assert expectation is not None
    assert expectation.unmet(record(2, {"rows": 0}), 1) == (
        "ran 2 s, expected at least 30 s; rows = 0, expected rows > 0"
    )


def test_nothing_usable_is_no_expectation():
    assert OutcomeExpectation.from_values({}) is None
    assert OutcomeExpectation.from_values({"min_duration": -1, "check": 3}) is None  # both bad


@pytest.mark.parametrize(
    "answer, reason",
    [
        (True, None),
        (1, None),
        ("only 3 rows", "only 3 rows"),
        (False, "the check judge returned False"),
        (None, "the check judge returned None"),
        ("", "the check judge returned ''"),
    ],
)
def test_a_callable_check_answers_with_truth_or_a_reason(answer, reason):
    seen: list[RunRecord] = []

    def judge(run: RunRecord) -> object:
        seen.append(run)
        return answer

    expectation = OutcomeExpectation(check=judge)
    given = record(metadata={"rows": 3})
    assert expectation.unmet(given, 1) == reason
    (copy,) = seen
    assert copy == given and copy is not given  # a copy: the check cannot change what is stored


def test_a_check_that_raises_could_not_check(caplog):
    def broken(run: RunRecord) -> bool:
        raise KeyError("rows")

    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        assert OutcomeExpectation(check=broken).unmet(record(), 1) is None
    assert "the check" in caplog.text and "raised KeyError" in caplog.text


def test_a_slow_check_is_left_behind_at_its_bound(caplog):
    release = threading.Event()

    def slow(run: RunRecord) -> bool:
        release.wait()  # until the test has its answer: longer than any bound
        return False

    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="monitorkit"):
            assert OutcomeExpectation(check=slow).unmet(record(), 0.2) is None
        waited = time.monotonic() - started
    finally:
        release.set()
    assert 0.2 <= waited < 60  # the bound, not the check's end (which never came meanwhile)
    assert "took longer than 0.2 s" in caplog.text


def test_the_bound_leaves_half_the_flush_for_the_write():
    assert check_bound(3.0) == 1.0
    assert check_bound(0.5) == 0.25


# --- how a run reads them --------------------------------------------------------------------


def rows_check(run: RunRecord) -> bool:
    return bool(run.metadata.get("rows"))


class Declaring(MonitoredCommand):
    monitor_min_duration = 30
    monitor_check = rows_check  # read from the class: called with the record alone


def test_the_mixin_reads_every_outcome_key():
    assert mixin.KEYS == OUTCOME_KEYS
    assert all(hasattr(mixin.OutcomeExpectationMixin, f"monitor_{key}") for key in OUTCOME_KEYS)
    assert all(key in schedules.KEYS for key in OUTCOME_KEYS)
    assert Declaring().get_monitor_outcome_values() == {"min_duration": 30, "check": rows_check}


def test_the_setting_overrides_the_class_key_by_key(settings):
    settings.MONITORKIT_SCHEDULES = {"declaring": {"min_duration": 5, "schedule": "@daily"}}
    assert declared_in_schedules("declaring", mixin.KEYS) == {"min_duration": 5}
    assert declared_in_schedules("other", mixin.KEYS) == {}
    settings.MONITORKIT_SCHEDULES = ["not", "a", "dict"]
    assert declared_in_schedules("declaring", mixin.KEYS) == {}


def test_schedules_know_the_keys_of_a_class():
    found = schedules.expectation_from_values("d", schedules.class_values(Declaring), "Declaring")
    assert found.min_duration == dt.timedelta(seconds=30) and found.check is rows_check


@pytest.mark.django_db(transaction=True)
def test_a_decorated_function_is_stored_unmet_and_a_good_one_is_not(monkeypatch):
    monkeypatch.setattr(schedules, "_declarations", {})
    nightly = monitorkit.monitor("rows_job", check="rows > 0")
    with nightly as run:
        run.metadata["rows"] = 0
    with nightly as run:
        run.metadata["rows"] = 7
    empty, full = CommandRun.objects.filter(command_id="rows_job").order_by("seq")
    assert (empty.status, empty.unmet) == ("FINISHED", "rows = 0, expected rows > 0")
    assert (full.status, full.unmet) == ("FINISHED", None)


@pytest.mark.django_db(transaction=True)
def test_a_coroutine_that_took_too_long_is_stored_unmet(monkeypatch):
    import asyncio

    monkeypatch.setattr(schedules, "_declarations", {})

    @monitorkit.monitor("async_job", max_duration=0.01)
    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "done"

    assert asyncio.run(slow()) == "done"
    (run,) = CommandRun.objects.filter(command_id="async_job")
    assert run.status == "FINISHED" and run.unmet is not None
    assert run.unmet.startswith("ran ") and run.unmet.endswith("expected at most 0.01 s")


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_is_not_judged_against_its_expectations(monkeypatch):
    monkeypatch.setattr(schedules, "_declarations", {})

    @monitorkit.monitor("failing_job", min_duration=30)
    def failing() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        failing()
    (run,) = CommandRun.objects.filter(command_id="failing_job")
    assert (run.status, run.unmet) == ("FAILED", None)  # FAILING says more than SUSPECT


@pytest.mark.django_db(transaction=True)
def test_the_reason_is_cleaned_like_every_stored_text(monkeypatch):
    monkeypatch.setattr(schedules, "_declarations", {})
    secret = "postgres://app:hunter2@db/app"

    @monitorkit.monitor("leaky_job", check=lambda run: f"could not reach {secret}")
    def leaky() -> None:
        pass

    leaky()
    (run,) = CommandRun.objects.filter(command_id="leaky_job")
    assert run.unmet is not None and "hunter2" not in run.unmet


# --- the judge -------------------------------------------------------------------------------

DAILY = Expectation("nightly", "0 3 * * *", timezone="UTC", min_duration=30)


def test_a_finished_run_that_missed_its_expectations_is_suspect():
    now = T0 + dt.timedelta(hours=1)
    found = assess(DAILY, [record(0.1, unmet="ran 0.1 s, expected at least 30 s")], now, 90, None)
    assert found.health is Health.SUSPECT
    assert found.next_expected == T0 + dt.timedelta(days=1)
    assert assess(DAILY, [record(40)], now, 90, None).health is Health.OK


def test_a_run_that_meets_them_recovers_and_a_retry_waits_for_its_outcome():
    now = T0 + dt.timedelta(hours=1)
    suspect = record(0.1, unmet="too fast")
    retry = record(status=Status.RUNNING, run_id="r2", started=T0 + dt.timedelta(minutes=30))
    retry.finished, retry.latest = None, now
    assert judge(DAILY, [retry, suspect], now, 90, None, "SUSPECT").health is Health.SUSPECT
    good = record(40, run_id="r2", started=T0 + dt.timedelta(minutes=30))
    assert judge(DAILY, [good, suspect], now, 90, None, "SUSPECT").health is Health.OK


def test_failing_and_missed_say_more_than_suspect():
    now = T0 + dt.timedelta(hours=1)
    failed = record(status=Status.FAILED, unmet="never set on a failure, but if it were")
    assert assess(DAILY, [failed], now, 90, None).health is Health.FAILING
    two_days_later = T0 + dt.timedelta(days=2)
    suspect = record(0.1, unmet="too fast")
    assert assess(DAILY, [suspect], two_days_later, 90, None).health is Health.MISSED


def test_without_any_declaration_the_stored_reason_still_counts():
    # Judged from the facts stored: the expectation that made them may be gone or elsewhere.
    now = T0 + dt.timedelta(hours=1)
    assert assess(None, [record(0.1, unmet="too fast")], now, 90, None).health is Health.SUSPECT


# --- what the page, its JSON and monitor_status show -----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_pages_json_and_monitor_status_show_the_suspect_run(admin_client, client, settings):
    import io

    from django.core.management import call_command

    from monitorkit.stores.database.runs import DatabaseReporter
    from tests.stores.test_database import make_record

    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "export": {"min_duration": 30, "check": "rows > 0"},
    }
    settings.MONITORKIT_METRICS_TOKEN = "s3cret-token"
    run = make_record("export")
    run.status, run.finished = Status.FINISHED, run.started + dt.timedelta(seconds=0.5)
    run.unmet = "ran 0.5 s, expected at least 30 s"
    DatabaseReporter().write(run)

    one = admin_client.get("/monitor/api/commands/export.json").json()
    assert one["health"] == "SUSPECT" and one["runs"][0]["unmet"] == run.unmet
    assert (one["schedule"]["min_duration_seconds"], one["schedule"]["check"]) == (30.0, "rows > 0")
    page = admin_client.get("/monitor/commands/export/").content.decode()
    assert f'<p class="unmet">Expectation not met: {run.unmet}</p>' in page
    assert '<dd class="outcome-check"><code>rows &gt; 0</code></dd>' in page
    assert '<dd class="expected-duration">at least 30' in page
    run_page = admin_client.get(f"/monitor/commands/export/runs/{run.run_id}/").content.decode()
    assert f'<dd class="unmet">Not met: {run.unmet}</dd>' in run_page
    overview = admin_client.get("/monitor/api/overview.json").json()
    (row,) = [c for c in overview["commands"] if c["command_id"] == "export"]
    assert row["health"] == "SUSPECT"
    metrics = client.get("/monitor/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    ids = 'command="export",command_id="export"'
    assert f'monitorkit_health{{{ids},health="SUSPECT"}} 1.0' in metrics.content.decode()
    out = io.StringIO()
    call_command("monitor_status", stdout=out)
    (line,) = [x for x in out.getvalue().splitlines() if x.startswith("export")]
    assert "SUSPECT" in line
    out = io.StringIO()
    call_command("monitor_status", "--command", "export", stdout=out)
    assert f"Unmet: {run.unmet}" in out.getvalue()


# --- the page's fast and slow flags as expectations (outliers) --------------------------------


@pytest.mark.parametrize(
    "value, read",
    [
        (None, None),
        (False, None),
        (True, ("fast", "slow")),
        ("fast", ("fast",)),
        (["slow", "fast"], ("fast", "slow")),
    ],
)
def test_outliers_are_the_pages_flags(value, read):
    assert parse_outliers(value) == read


@pytest.mark.parametrize("value", ["quick", [], ["fast", "late"], 3])
def test_other_outliers_are_refused(value):
    with pytest.raises(ValueError, match="'fast', 'slow', both"):
        parse_outliers(value)


def usual_of(*seconds: float) -> Usual:
    from monitorkit.usual import outcome_durations

    outcomes = [{"status": "FINISHED", "duration": s} for s in seconds]
    return Usual(outcome_durations(outcomes), slow_factor=1.5, fast_fraction=0.1)


def test_a_run_is_an_outlier_by_the_pages_rule_and_only_the_flags_asked_for():
    usual = usual_of(40, 40, 40, 40, 40)
    fast, slow, usual_run = record(seconds=0.2), record(seconds=100), record(seconds=41)
    both = OutcomeExpectation(outliers=("fast", "slow"))
    assert both.unmet(fast, 1.0, usual) == "ran 0.2 s, faster than usual (less than p50 40 s x 0.1)"
    assert both.unmet(slow, 1.0, usual) == "ran 100 s, slower than usual (more than p95 40 s x 1.5)"
    assert both.unmet(usual_run, 1.0, usual) is None
    assert OutcomeExpectation(outliers=("slow",)).unmet(fast, 1.0, usual) is None
    assert both.unmet(fast, 1.0, None) is None  # what is usual could not be read


def test_no_run_is_an_outlier_before_five_finished_runs():
    expectation = OutcomeExpectation(outliers=("fast",))
    assert expectation.unmet(record(seconds=0.2), 1.0, usual_of(40, 40, 40, 40)) is None
