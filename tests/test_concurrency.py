"""The concurrency policy's values, its checks, and how the judge reads overlap and refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import checks

from monitorkit.concurrency import (
    REFUSED_EXIT_CODE,
    WhenRefused,
    parse_concurrency,
    parse_when_refused,
    refusal_outcome,
)
from monitorkit.health.judge import Health, assess, failures_in_row
from monitorkit.health.schedules import Expectation
from monitorkit.record import Status
from tests.test_health import NIGHTLY, STALE_AFTER, run, utc


@pytest.mark.parametrize(
    "value, limit",
    [(None, None), ("allow", None), ("forbid", 1), (1, 1), (2, 2), (1000, 1000)],
)
def test_concurrency_values(value, limit):
    assert parse_concurrency(value) == limit


@pytest.mark.parametrize("value", [0, -1, 1001, True, 1.5, "2", "never", [1]])
def test_bad_concurrency_values(value):
    with pytest.raises(ValueError, match="must be 'allow', 'forbid' or a whole number"):
        parse_concurrency(value)


def test_when_refused_values():
    assert parse_when_refused(None) is WhenRefused.SKIP
    assert parse_when_refused("fail") is WhenRefused.FAIL
    with pytest.raises(ValueError, match="must be 'skip' or 'fail'"):
        parse_when_refused("exit")


def test_a_refusal_names_its_holders_and_its_exit_code():
    skip = refusal_outcome("nightly", 1, ["abc"], WhenRefused.SKIP)
    assert skip.status is Status.SKIPPED and skip.exit_code == 0
    assert skip.message == "Not run: concurrency of 'nightly' is forbid; running: abc"
    fail = refusal_outcome("nightly", 2, ["abc", "def"], WhenRefused.FAIL)
    assert fail.exit_code == REFUSED_EXIT_CODE == 75
    assert "at most 2 at once; running: abc, def" in fail.message


def test_an_expectation_carries_the_policy():
    assert Expectation("job").concurrency is None
    job = Expectation("job", concurrency="forbid", when_refused="fail")
    assert job.concurrency == 1 and job.when_refused is WhenRefused.FAIL


@pytest.mark.parametrize(
    "values, check_id, words",
    [
        ({"concurrency": "once"}, "monitorkit.W170", "concurrency must be 'allow', 'forbid'"),
        ({"concurrency": 0}, "monitorkit.W170", "a whole number from 1 to 1000"),
        ({"when_refused": "exit"}, "monitorkit.W171", "when_refused must be 'skip' or 'fail'"),
    ],
)
def test_manage_py_check_warns_about_a_bad_policy(settings, values, check_id, words):
    from monitorkit.checks import check_schedules_and_alerts

    settings.MONITORKIT_SCHEDULES = {"nightly": values}
    (message,) = check_schedules_and_alerts()
    assert isinstance(message, checks.Warning)
    assert message.id == check_id and words in message.msg and "'nightly'" in message.msg
    assert message.hint


# --- the judge ---------------------------------------------------------------------------


def test_two_live_runs_overlap():
    now = utc(2026, 5, 1, 3, 10)
    older = run(utc(2026, 5, 1, 3, 0), Status.RUNNING, latest=now)
    newer = run(utc(2026, 5, 1, 3, 5), Status.RUNNING, latest=now)
    got = assess(NIGHTLY, [newer, older], now, STALE_AFTER, None)
    assert got.health is Health.OVERLAPPING and got.running
    assert not Health.OVERLAPPING.problem and not Health.OVERLAPPING.alerts


def test_a_stale_older_run_is_no_overlap():
    now = utc(2026, 5, 1, 3, 10)
    older = run(utc(2026, 5, 1, 2, 0), Status.RUNNING, latest=utc(2026, 5, 1, 2, 1))
    newer = run(utc(2026, 5, 1, 3, 5), Status.RUNNING, latest=now)
    assert assess(NIGHTLY, [newer, older], now, STALE_AFTER, None).health is Health.RUNNING


def test_a_skipped_start_is_neither_failure_nor_success():
    failed = run(utc(2026, 5, 1, 3, 0), Status.FAILED)
    skipped = run(utc(2026, 5, 1, 3, 30), Status.SKIPPED)
    failed_before = run(utc(2026, 4, 30, 3, 0), Status.FAILED)
    runs = [skipped, failed, failed_before]
    assert failures_in_row(runs) == 2
    got = assess(NIGHTLY, runs, utc(2026, 5, 1, 4), STALE_AFTER, None)
    assert got.health is Health.FAILING and got.last_run is failed


def test_a_skipped_start_counts_for_the_schedule():
    # The run of the day before finished; today's 03:00 start was refused (the previous run
    # still held the lease): the schedule had its start, so it is not missed.
    finished = run(utc(2026, 4, 30, 3, 0))
    skipped = run(utc(2026, 5, 1, 3, 0), Status.SKIPPED)
    now = utc(2026, 5, 1, 4)
    assert assess(NIGHTLY, [finished], now, STALE_AFTER, None).health is Health.MISSED
    got = assess(NIGHTLY, [skipped, finished], now, STALE_AFTER, None)
    assert got.health is Health.OK and got.last_run is finished
    assert got.next_expected == utc(2026, 5, 2, 3)


def test_metrics_count_active_runs():
    from monitorkit.web.metrics import active_runs

    now = utc(2026, 5, 1, 3, 10)
    alive = [run(utc(2026, 5, 1, 3, m), Status.RUNNING, latest=now) for m in (0, 5)]
    dead = run(utc(2026, 5, 1, 1), Status.RUNNING, latest=utc(2026, 5, 1, 1, 1))
    assert active_runs([*alive, dead, run(utc(2026, 5, 1))], now, STALE_AFTER) == 2
    assert dt.timedelta(seconds=STALE_AFTER) < now - dead.latest


# --- monitorkit.monitor(..., concurrency=...) on the database store -------------------------


def hold(command_id: str) -> str:
    """Store a live run of ``command_id`` (a heartbeat now), as a holder elsewhere would."""
    from monitorkit.models import CommandRun
    from monitorkit.record import utcnow

    now = utcnow()
    seq = CommandRun.objects.filter(command_id=command_id).count() + 1
    CommandRun.objects.create(
        command_id=command_id, seq=seq, run_id="holder", name=command_id, status="RUNNING",
        started=now, latest=now,
    )  # fmt: skip
    return "holder"


def stored(command_id: str) -> list[tuple[str, str]]:
    from monitorkit.models import CommandRun

    rows = CommandRun.objects.filter(command_id=command_id).order_by("seq")
    return [(row.status, row.message) for row in rows]


@pytest.fixture
def own_declarations(monkeypatch):
    from monitorkit.health import schedules

    monkeypatch.setattr(schedules, "_declarations", {})


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_declarations")
def test_a_refused_call_of_a_decorated_function_is_skipped_or_fails():
    import monitorkit
    from monitorkit.concurrency import RunRefused

    called: list[str] = []

    @monitorkit.monitor("exclusive", concurrency="forbid")
    def skipping() -> str:
        called.append("skip")
        return "ran"

    @monitorkit.monitor("exclusive", concurrency="forbid", when_refused="fail")
    def failing() -> str:
        called.append("fail")
        return "ran"

    assert skipping() == "ran"  # nothing holds the lease: it runs
    holder = hold("exclusive")
    assert skipping() is None
    with pytest.raises(RunRefused) as refused:
        failing()
    assert refused.value.returncode == 75 and holder in str(refused.value)
    with pytest.raises(RunRefused), monitorkit.monitor("exclusive", concurrency="forbid"):
        called.append("block")
    assert called == ["skip"]
    statuses = [status for status, _ in stored("exclusive")]
    assert statuses == ["FINISHED", "RUNNING", "SKIPPED", "SKIPPED", "SKIPPED"]
    assert all(holder in message for status, message in stored("exclusive")[2:])


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_declarations")
def test_allow_takes_no_lease_and_runs_beside_a_holder():
    import monitorkit

    @monitorkit.monitor("shared")
    def shared() -> int:
        return 1

    hold("shared")
    assert shared() == 1
    assert [status for status, _ in stored("shared")] == ["RUNNING", "FINISHED"]


@pytest.mark.django_db(transaction=True)
def test_a_lease_that_cannot_be_taken_lets_the_command_run(caplog, monkeypatch):
    import monitorkit
    from monitorkit.stores.base import ReporterError
    from monitorkit.stores.database.runs import DatabaseReporter

    def down(self, record, limit):
        raise ReporterError("database 'default' did not answer")

    monkeypatch.setattr(DatabaseReporter, "take_lease", down)

    @monitorkit.monitor("down", concurrency="forbid")
    def job() -> int:
        return 7

    with caplog.at_level("WARNING", logger="monitorkit"):
        assert job() == 7
    assert "could not take a lease for command 'down'" in caplog.text
    assert "it runs without one" in caplog.text
    assert [status for status, _ in stored("down")] == ["FINISHED"]


@pytest.mark.django_db(transaction=True)
def test_the_database_store_reads_the_run_before_a_refused_start_whole():
    """A suspect run, then a refused start: the judge still reads the run's ``unmet``."""
    from monitorkit.stores.database.runs import DatabaseReporter
    from tests.stores.conftest import make_record

    reporter = DatabaseReporter()
    suspect = make_record("run-1", "nightly", started=utc(2026, 5, 1, 3))
    suspect.status, suspect.finished = Status.FINISHED, utc(2026, 5, 1, 3, 1)
    suspect.unmet = "ran 60 s, expected at least 600 s"
    reporter.write(suspect)
    skipped = make_record("run-2", "nightly", started=utc(2026, 5, 1, 3, 30))
    skipped.status, skipped.finished = Status.SKIPPED, skipped.started
    reporter.write(skipped)
    runs = reporter.judge_runs(10)["nightly"]
    got = assess(None, runs, utc(2026, 5, 1, 4), STALE_AFTER, None)
    assert got.health is Health.SUSPECT and got.last_run is not None
    assert got.last_run.unmet == suspect.unmet


@pytest.mark.django_db(transaction=True)
def test_a_command_class_declares_its_policy_and_call_command_raises_the_refusal():
    from django.core.management import call_command

    from monitorkit import MonitoredCommand
    from monitorkit.concurrency import RunRefused

    called: list[str] = []

    class Exclusive(MonitoredCommand):
        monitor_command_id = "exclusive_command"
        monitor_concurrency = "forbid"
        monitor_when_refused = "fail"

        def handle(self, *args, **options):
            called.append("handle")

    call_command(Exclusive())
    holder = hold("exclusive_command")
    with pytest.raises(RunRefused) as refused:
        call_command(Exclusive())
    assert refused.value.returncode == 75 and holder in str(refused.value)
    assert called == ["handle"]
    assert [status for status, _ in stored("exclusive_command")] == [
        "FINISHED",
        "RUNNING",
        "SKIPPED",
    ]
