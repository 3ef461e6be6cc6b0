"""The metrics endpoint's batch-job set, over a real SQLite store written by the reporter.

In process, through the Django test client: last success, failure and completion, the next
expected start, the schedule, its margin and limit, active runs, the spool, the build, the
``command`` label, the ``MONITORKIT_METRICS_IDS`` bound and the queries a scrape takes.
"""

from __future__ import annotations

import datetime as dt
import os
import platform

import django
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

import monitorkit
from monitorkit.checks import check_settings
from monitorkit.conf import monitor_settings
from monitorkit.record import RunRecord, Status
from monitorkit.stores.database.runs import DatabaseReporter
from tests.stores.test_database import make_record

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "s3cret-token"
UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 1, 3, 2, 30, tzinfo=UTC)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def _metrics_on(settings, tmp_path):
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    settings.MONITORKIT_SPOOL_DIR = str(tmp_path / "spool")  # not made until something waits
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


def at(hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, 1, hour, minute, second, tzinfo=UTC)


def run(
    command_id: str,
    started: dt.datetime,
    ended: dt.datetime | None = None,
    status: Status = Status.FINISHED,
    name: str | None = None,
) -> RunRecord:
    """Store one run: ended with ``status`` at ``ended``, or still running (beating now)."""
    record = make_record(command_id, name=name or command_id, started=started, latest=started)
    reporter = DatabaseReporter()
    reporter.write(record)
    if ended is None:
        record.status, record.latest = Status.RUNNING, NOW
    else:
        record.status, record.finished, record.latest = status, ended, ended
    reporter.write(record)
    return record


def scrape(client) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def value(samples: Samples, name: str, command_id: str | None = None, **labels: str) -> float:
    if command_id is not None:
        labels = {"command_id": command_id, "command": command_id, **labels}
    return samples[(name, tuple(sorted(labels.items())))]


def names(samples: Samples, name: str) -> set[str]:
    """Return the command ids ``name`` has a sample of."""
    return {dict(labels)["command_id"] for n, labels in samples if n == name}


@freeze_time(NOW)
def test_the_batch_job_set_of_a_scheduled_command(client, settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "export": {
            "schedule": "*/5 * * * *",
            "timezone": "Europe/Paris",
            "start_margin": 60,
            "max_runtime": 600,
        },
        "sync": {"schedule": 3600},
    }
    run("export", at(2, 50), at(2, 50, 10))
    run("export", at(2, 55), at(2, 55, 2), Status.FAILED)
    run("export", at(3, 0))  # running, beating now
    run("import__day_1", at(1, 0), at(1, 0, 5), name="import")
    samples = scrape(client)

    assert value(samples, "monitorkit_health", "export", health="RUNNING") == 1
    assert value(samples, "monitorkit_last_success_timestamp_seconds", "export") == (
        at(2, 50, 10).timestamp()
    )
    assert value(samples, "monitorkit_last_failure_timestamp_seconds", "export") == (
        at(2, 55, 2).timestamp()
    )
    assert value(samples, "monitorkit_last_completion_timestamp_seconds", "export") == (
        at(2, 55, 2).timestamp()
    )
    # Due after the running run's start; cron read in Paris, exported in Unix seconds.
    next_expected = value(samples, "monitorkit_next_expected_timestamp_seconds", "export")
    assert next_expected == at(3, 5).timestamp()
    info = {"schedule": "*/5 * * * *", "timezone": "Europe/Paris"}
    assert value(samples, "monitorkit_schedule_info", "export", **info) == 1
    assert value(samples, "monitorkit_start_margin_seconds", "export") == 60
    assert value(samples, "monitorkit_max_runtime_seconds", "export") == 600
    assert value(samples, "monitorkit_active_runs", "export") == 1
    assert value(samples, "monitorkit_runs_total", "export") == 3

    # Never ran: 0 for never, a schedule of seconds, no limit.
    for name in ("success", "failure", "completion"):
        assert value(samples, f"monitorkit_last_{name}_timestamp_seconds", "sync") == 0
    zone = settings.TIME_ZONE or "UTC"
    assert value(samples, "monitorkit_schedule_info", "sync", schedule="3600s", timezone=zone) == 1
    assert value(samples, "monitorkit_start_margin_seconds", "sync") == 300
    assert value(samples, "monitorkit_next_expected_timestamp_seconds", "sync") == (
        NOW.timestamp() + 3600  # no watcher has seen it: counted from now
    )
    assert "sync" not in names(samples, "monitorkit_max_runtime_seconds")
    assert value(samples, "monitorkit_active_runs", "sync") == 0

    # An id with parameters: its command's name beside it; no schedule, so no schedule series.
    labels = {"command_id": "import__day_1", "command": "import"}
    assert value(samples, "monitorkit_last_success_timestamp_seconds", **labels) == (
        at(1, 0, 5).timestamp()
    )
    assert value(samples, "monitorkit_last_failure_timestamp_seconds", **labels) == 0
    for name in ("schedule_info", "start_margin_seconds", "next_expected_timestamp_seconds"):
        assert "import__day_1" not in names(samples, f"monitorkit_{name}")

    assert value(samples, "monitorkit_spool_files") == 0  # its directory does not exist
    assert value(samples, "monitorkit_commands_unexported") == 0
    build = {
        "version": monitorkit.__version__,
        "python": platform.python_version(),
        "django": django.get_version(),
    }
    assert value(samples, "monitorkit_build_info", **build) == 1


@freeze_time(NOW)
def test_a_missed_start_keeps_next_expected_in_the_past_until_a_run_starts(client, settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "export": {"schedule": "*/5 * * * *", "start_margin": 60},
    }
    run("export", at(2, 40), at(2, 40, 5))
    samples = scrape(client)
    assert value(samples, "monitorkit_health", "export", health="MISSED") == 1
    expected = value(samples, "monitorkit_next_expected_timestamp_seconds", "export")
    margin = value(samples, "monitorkit_start_margin_seconds", "export")
    assert expected == at(2, 45).timestamp()  # the first start missed, not the one after it
    assert NOW.timestamp() > expected + margin  # the documented rule fires

    run("export", at(3, 2))  # a run starts: the rule clears
    samples = scrape(client)
    assert value(samples, "monitorkit_health", "export", health="RUNNING") == 1
    expected = value(samples, "monitorkit_next_expected_timestamp_seconds", "export")
    assert expected == at(3, 5).timestamp()
    assert NOW.timestamp() < expected + margin


@freeze_time(NOW)
def test_active_runs_count_overlapping_runs_that_beat_and_not_stale_ones(client, settings):
    settings.MONITORKIT_STALE_AFTER = 90
    run("sync", at(2, 0), at(2, 0, 3))
    stale = make_record("sync", started=at(2, 30), latest=at(2, 31))
    stale.status = Status.RUNNING
    DatabaseReporter().write(stale)  # silent for half an hour: stale, not active
    run("sync", at(3, 1))
    run("sync", at(3, 2))
    samples = scrape(client)
    assert value(samples, "monitorkit_active_runs", "sync") == 2
    assert value(samples, "monitorkit_kept_runs", "sync") == 4


def test_spool_files_counts_what_waits(client, settings, tmp_path):
    spool = tmp_path / "spool"
    os.mkdir(spool, 0o700)
    for name in ("a.DatabaseReporter.json", "b.DatabaseReporter.json"):
        (spool / name).write_text("{}")
    (spool / "notes.txt").write_text("not a record")
    assert value(scrape(client), "monitorkit_spool_files") == 2


def test_metrics_ids_bound_which_ids_are_exported(client, settings):
    run("export", at(2, 0), at(2, 0, 1))
    run("export__day_1", at(2, 0), at(2, 0, 1), name="export")
    run("import", at(2, 0), at(2, 0, 1))
    run("Export_upper", at(2, 0), at(2, 0, 1))
    assert names(scrape(client), "monitorkit_health") == {
        "export",
        "export__day_1",
        "import",
        "Export_upper",
    }
    settings.MONITORKIT_METRICS_IDS = ["export*"]
    samples = scrape(client)
    for name in ("monitorkit_health", "monitorkit_last_success_timestamp_seconds"):
        assert names(samples, name) == {"export", "export__day_1"}
    assert value(samples, "monitorkit_commands_unexported") == 2
    settings.MONITORKIT_METRICS_IDS = []
    samples = scrape(client)
    assert names(samples, "monitorkit_health") == set()
    assert value(samples, "monitorkit_commands_unexported") == 4
    assert value(samples, "monitorkit_spool_files") == 0  # the global series stay


def test_a_bad_metrics_ids_setting_warns_and_exports_every_id(settings):
    settings.MONITORKIT_METRICS_IDS = "export*"  # a string, not a list
    (message,) = check_settings()
    assert message.id == "monitorkit.W030"
    assert message.msg.startswith("MONITORKIT_METRICS_IDS") and "is used meanwhile" in message.msg
    assert monitor_settings.metrics_ids == ("*",)


def test_query_count_of_a_scrape_does_not_grow_with_command_ids(client, settings):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    for n in range(3):
        run(f"job_{n:02d}", at(2, 0), at(2, 0, 1))
        run(f"job_{n:02d}", at(2, 5), at(2, 5, 1), Status.FAILED)
    few = queries()
    schedules = {f"job_{n:02d}": {"schedule": "*/5 * * * *"} for n in range(0, 40, 2)}
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}, **schedules}
    for n in range(3, 40):
        run(f"job_{n:02d}", at(2, 0), at(2, 0, 1))
        run(f"job_{n:02d}", at(2, 5), at(2, 5, 1), Status.FAILED)
    run("job_99", at(2, 6))
    assert queries() == few
    assert few <= 7  # the judge's inputs, counts, kept runs, the watcher, the snoozes
