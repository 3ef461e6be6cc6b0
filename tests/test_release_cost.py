"""The release and the cost of runs as readers show them (issue 21, items 2 and 3).

In process, over a real SQLite store written by the reporter: the run page and its JSON, the
command page's p50 and p95 of each measure and its flags, the metrics of the last run, an alert
that names the release of the first failure and of the last success (to a real webhook
server), and the setting's check. ``test_release_cost_processes.py`` records them for real.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import checks
from freezegun import freeze_time

from monitorkit import conf, release
from monitorkit.alerts.webhook import WebhookNotifier
from monitorkit.checks import check_settings
from monitorkit.health.releases import failure_releases
from monitorkit.health.watch import Watcher
from monitorkit.measures import Measure
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.recording.cost import QueryCounter, RunQueries
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.web.stats import cost_flags, costs
from tests.stores.test_database import make_record
from tests.test_metrics import TOKEN, scrape, value
from tests.test_status_page import store

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


def cost(memory_mib: float = 50, queries: int = 10, cpu: float = 0.5) -> dict[str, Any]:
    return {
        "cpu_user_seconds": cpu,
        "cpu_system_seconds": cpu / 10,
        "peak_memory_bytes": int(memory_mib * MIB),
        "databases": {
            "default": {"queries": queries, "seconds": queries / 1000},
            "replica": {"queries": 1, "seconds": 0.5},
        },
    }


def ran(name: str, python: str = "3.11.7", django: str = "5.2.19") -> dict[str, Any]:
    return {"release": name, "python": python, "django": django}


def runs_of(command_id: str, costs_: list[dict[str, Any]], **fields: Any) -> list[RunRecord]:
    start = utcnow() - dt.timedelta(hours=len(costs_) + 1)
    return [
        store(make_record(command_id, started=start + dt.timedelta(hours=n), cost=c, **fields), 2.0)
        for n, c in enumerate(costs_)
    ]


@pytest.fixture(autouse=True)
def _no_declared_schedule(settings):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


# --- the vocabulary and the percentiles ------------------------------------------------------


def test_each_measure_reads_its_value_and_the_queries_add_up_the_databases():
    spent = cost(memory_mib=2, queries=10, cpu=0.5)
    assert Measure.CPU_USER.of(spent) == 0.5
    assert Measure.CPU_SYSTEM.of(spent) == 0.05
    assert Measure.PEAK_MEMORY.of(spent) == 2 * MIB
    assert Measure.QUERIES.of(spent) == 11
    assert Measure.QUERY_TIME.of(spent) == pytest.approx(0.51)
    assert [Measure.CPU_USER.of(x) for x in (None, {}, {"cpu_user_seconds": "1"})] == [None] * 3
    assert [m.flag for m in Measure if m.flag] == ["high-memory", "many-queries"]


def test_p50_p95_over_finished_runs_and_the_flags_from_five_of_them():
    outcomes = [
        {"status": "FINISHED", "cost": cost(memory_mib=m, queries=q)}
        for m, q in [(10, 1), (20, 2), (30, 3), (40, 4)]
    ]
    outcomes.append({"status": "FAILED", "cost": cost(memory_mib=999, queries=999)})
    outcomes.append({"status": "FINISHED"})  # recorded before monitorkit measured cost
    usual = costs(outcomes)
    assert usual[Measure.PEAK_MEMORY].count == 4
    assert usual[Measure.PEAK_MEMORY].p50 == 25 * MIB
    assert usual[Measure.QUERIES].p95 == pytest.approx(4.85)  # 2 to 5: one on the replica
    heavy = cost(memory_mib=200, queries=100)
    assert cost_flags(heavy, usual, 1.5) == []  # four runs: not enough to know what is usual
    usual = costs([*outcomes, {"status": "FINISHED", "cost": cost(memory_mib=50, queries=5)}])
    assert cost_flags(heavy, usual, 1.5) == ["high-memory", "many-queries"]
    assert cost_flags(cost(memory_mib=60, queries=5), usual, 1.5) == []
    assert cost_flags(None, usual, 1.5) == []


# --- the run page, the command page and their JSON ---------------------------------------------


def test_the_run_page_and_its_json_show_the_release_and_the_cost(admin_client):
    (record,) = runs_of("export", [cost(memory_mib=58.9, queries=12)], release=ran("v1.2.3"))
    url = f"/monitor/commands/export/runs/{record.run_id}/"
    html = admin_client.get(url).content.decode()
    assert '<dd class="release">v1.2.3 (Python 3.11.7, Django 5.2.19)</dd>' in html
    assert '<dd data-measure="cpu_user_seconds">0.500 s</dd>' in html
    assert '<dd data-measure="cpu_system_seconds">0.050 s</dd>' in html
    assert '<dd data-measure="peak_memory_bytes">58.9 MiB</dd>' in html
    assert '<dt>Queries (default)</dt><dd data-measure="queries">12 in 0.012 s</dd>' in html
    assert '<dt>Queries (replica)</dt><dd data-measure="queries">1 in 0.500 s</dd>' in html
    data = admin_client.get(f"/monitor/api/commands/export/runs/{record.run_id}.json").json()
    assert data["release"] == ran("v1.2.3")
    assert data["cost"] == cost(memory_mib=58.9, queries=12)


def test_a_run_recorded_without_release_or_cost_shows_neither(admin_client):
    (record,) = runs_of("export", [None])
    html = admin_client.get(f"/monitor/commands/export/runs/{record.run_id}/").content.decode()
    assert '<dd class="release">—</dd>' in html
    assert 'id="cost"' not in html


def test_the_command_page_has_each_measures_p50_p95_and_flags_a_heavy_run(admin_client):
    # The heavy run counts in its own p95 (as a slow run in its durations'): twenty usual ones.
    usual = [cost(memory_mib=50, queries=10) for _ in range(20)]
    runs_of("export", [*usual, cost(memory_mib=500, queries=10)], release=ran("v2"))
    data = admin_client.get("/monitor/api/commands/export.json").json()
    memory = data["costs"]["peak_memory_bytes"]
    assert memory == {"finished_runs": 21, "p50": 50 * MIB, "p95": 50 * MIB}
    assert data["costs"]["queries"] == {"finished_runs": 21, "p50": 11.0, "p95": 11.0}
    newest, *older = data["runs"]
    assert newest["flags"] == ["high-memory"]
    assert all(run["flags"] == [] for run in older)
    assert all("cost" not in outcome for outcome in data["chart"])
    html = admin_client.get("/monitor/commands/export/").content.decode()
    assert '<tr data-measure="peak_memory_bytes"><th scope="row">Peak memory</th>' in html
    assert '<td class="p50">50.0 MiB</td>' in html
    assert '<span class="flag" data-flag="high-memory">high-memory</span>' in html
    assert '<p class="release">Release <code>v2</code></p>' in html


# --- metrics ---------------------------------------------------------------------------------


def test_the_metrics_carry_the_last_runs_cost(client, settings):
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    runs_of("export", [cost(memory_mib=10, queries=3), cost(memory_mib=20, queries=7)])
    running = make_record("export", started=utcnow())
    DatabaseReporter().write(running)  # the newest run has no cost yet: the last one's is shown
    samples = scrape(client)
    assert value(samples, "monitorkit_last_run_cpu_seconds", "export", mode="user") == 0.5
    assert value(samples, "monitorkit_last_run_cpu_seconds", "export", mode="system") == 0.05
    assert value(samples, "monitorkit_last_run_peak_memory_bytes", "export") == 20 * MIB
    assert value(samples, "monitorkit_last_run_queries", "export", alias="default") == 7
    assert value(samples, "monitorkit_last_run_queries", "export", alias="replica") == 1
    assert value(samples, "monitorkit_last_run_query_seconds", "export", alias="default") == 0.007


# --- alerts ----------------------------------------------------------------------------------


def store_run(reporter: DatabaseReporter, status: Status, at: dt.datetime, name: str) -> None:
    record = make_record("nightly", started=at, latest=at, release=ran(name))
    record.status = status
    record.finished = record.latest = at + dt.timedelta(seconds=5)
    reporter.write(record)


def cycle(reporter: DatabaseReporter, http_sink: Any, at: dt.datetime) -> None:
    notifier = WebhookNotifier(f"{http_sink.url}/hook", timeout=2, retries=0)
    with freeze_time(at):
        Watcher(reporter, reporter.health_store(), [notifier]).cycle()


def test_an_alert_names_the_release_of_the_first_failure_and_of_the_last_success(
    http_sink, settings
):
    settings.MONITORKIT_SCHEDULES.update({"nightly": {"alert_after": 2}})
    reporter = DatabaseReporter()
    store_run(reporter, Status.FINISHED, T0, "r1")
    store_run(reporter, Status.FINISHED, T0 + dt.timedelta(hours=1), "r2")
    store_run(reporter, Status.FAILED, T0 + dt.timedelta(hours=2), "r3")
    cycle(reporter, http_sink, T0 + dt.timedelta(hours=2, minutes=1))
    store_run(reporter, Status.FAILED, T0 + dt.timedelta(hours=3), "r4")
    cycle(reporter, http_sink, T0 + dt.timedelta(hours=3, minutes=1))
    (request,) = http_sink.requests
    body = request.json()
    assert body["failures_in_row"] == 2
    assert (body["first_failure_release"], body["last_success_release"]) == ("r3", "r2")
    assert body["release"] == ran("r3")  # the run the transition is about: the first failure
    assert "First failure since release r3; last success on release r2." in body["text"]
    assert "Release: r3 (Python 3.11.7, Django 5.2.19)" in body["text"]


def test_a_last_success_that_retention_deleted_is_not_named(http_sink, settings):
    settings.MONITORKIT_RETENTION = 2
    reporter = DatabaseReporter()
    store_run(reporter, Status.FINISHED, T0, "r1")
    store_run(reporter, Status.FAILED, T0 + dt.timedelta(hours=1), "r2")
    store_run(reporter, Status.FAILED, T0 + dt.timedelta(hours=2), "r3")
    cycle(reporter, http_sink, T0 + dt.timedelta(hours=2, minutes=1))
    (request,) = http_sink.requests
    body = request.json()
    assert (body["first_failure_release"], body["last_success_release"]) == ("r2", None)
    assert "First failure since release r2." in body["text"]
    assert "last success on release" not in body["text"]


def test_the_releases_of_a_failing_history_skip_misses_and_running_retries():
    def record(status: Status, name: str | None) -> RunRecord:
        return make_record("x", status=status, release=ran(name) if name else None)

    newest_first = [
        record(Status.RUNNING, "r9"),
        record(Status.SYSTEM_KILL, "r5"),
        record(Status.MISSED, None),
        record(Status.FAILED, "r4"),
        record(Status.FINISHED, "r3"),
        record(Status.FAILED, "r2"),
    ]
    assert failure_releases(newest_first) == ("r4", "r3")
    assert failure_releases(newest_first[:4]) == ("r4", None)
    assert failure_releases([record(Status.FAILED, None)]) == (None, None)


# --- the setting -----------------------------------------------------------------------------


@pytest.fixture
def fresh_release(monkeypatch):
    """Read the release again (it is read once per process) with no release variable set."""
    monkeypatch.setattr(release, "_found", None)
    for name in conf.RELEASE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("bad", [42, "", "   ", "two\nlines", ["v1"]])
def test_a_bad_release_is_a_warning_and_the_environment_is_used(
    settings, fresh_release, monkeypatch, bad
):
    monkeypatch.setenv("HEROKU_SLUG_COMMIT", "abc123")
    settings.MONITORKIT_RELEASE = bad
    (message,) = check_settings()
    assert type(message) is checks.Warning
    assert message.id == "monitorkit.W036"
    assert message.msg.startswith("MONITORKIT_RELEASE") and "MONITORKIT_RELEASE" in message.hint
    assert release.process_release()["release"] == "abc123"


def test_a_long_release_warns_and_is_cut(settings, fresh_release):
    settings.MONITORKIT_RELEASE = "x" * 300
    (message,) = check_settings()
    assert message.id == "monitorkit.W036"
    assert release.process_release()["release"] == "x" * 255


def test_the_release_is_read_once_per_process(settings, fresh_release):
    settings.MONITORKIT_RELEASE = "first"
    assert check_settings() == []
    assert release.process_release()["release"] == "first"
    settings.MONITORKIT_RELEASE = "second"
    assert release.process_release()["release"] == "first"


# --- the counter -----------------------------------------------------------------------------


def test_the_counter_counts_this_threads_queries_and_leaves_the_connection_as_it_was():
    from django.db import connection

    before = list(connection.execute_wrappers)
    queries = RunQueries()
    queries.start()
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute("SELECT 1")
    found = queries.by_alias()
    queries.stop()
    assert found["default"]["queries"] == 5
    assert connection.execute_wrappers == before
    assert not any(isinstance(w, QueryCounter) for w in connection.execute_wrappers)


def test_a_connection_opened_during_the_run_is_counted_and_other_threads_are_not():
    import threading

    from django.db import connection, connections

    found: dict[str, Any] = {}

    def a_run_in_a_thread_of_its_own() -> None:
        queries = RunQueries()
        queries.start()
        assert connections.all(initialized_only=True) == []  # no connection yet on this thread
        try:
            with connection.cursor() as cursor:  # opened now: counted from its opening
                cursor.execute("SELECT 1")
                cursor.execute("SELECT 2")
            found.update(queries.by_alias())
        finally:
            queries.stop()
            connection.close()

    here = RunQueries()
    here.start()
    thread = threading.Thread(target=a_run_in_a_thread_of_its_own)
    thread.start()
    thread.join()
    mine = here.by_alias()
    here.stop()
    assert found["default"]["queries"] == 2
    assert mine.get("default", {}).get("queries", 0) == 0  # the other thread's are not this run's


def test_a_monitored_function_records_the_release_and_its_own_queries(settings, fresh_release):
    from django.db import connection

    import monitorkit
    from monitorkit.models import CommandRun

    settings.MONITORKIT_RELEASE = "fn-1"

    @monitorkit.monitor("three_queries")
    def three_queries() -> None:
        with connection.cursor() as cursor:
            for _ in range(3):
                cursor.execute("SELECT 1")

    three_queries()
    run = CommandRun.objects.get(command_id="three_queries")
    assert run.release["release"] == "fn-1"
    assert run.cost["databases"]["default"]["queries"] == 3  # not the sender's writes
    assert run.cost["cpu_user_seconds"] > 0 and run.cost["peak_memory_bytes"] > 0
