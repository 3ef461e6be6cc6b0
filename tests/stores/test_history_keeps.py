"""History that keeps what matters (issue 18, item 5; defects 4 and 5's rows).

Missed starts never push real runs out of ``MONITORKIT_RETENTION`` (they keep the newest
``MISSED_KEPT`` of their own), the health row keeps the last success, failure and completion
when retention deleted those runs, and a ``MISSED`` row shows no pid and no duration of its own.
On SQLite, PostgreSQL and the local Realtime Database server; the watcher's clock is given.
"""

# ruff: noqa: F811 - ``reporter`` is test_one_judge's fixture (each store), used by name here

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit.health.watch import Watcher
from monitorkit.record import Status, utcnow
from monitorkit.stores import Reporter
from monitorkit.stores.base import MISSED_KEPT
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_one_judge import TOKEN, Told, ended, reporter  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

#: Twenty hours ago, on the hour: the schedule below is hourly.
START = utcnow().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=20)


def hour(n: int, minutes: int = 0) -> dt.datetime:
    return START + dt.timedelta(hours=n, minutes=minutes)


def cycle(reporter: Reporter, at: dt.datetime) -> None:
    store = reporter.health_store()
    assert store is not None
    Watcher(reporter, store, [Told()], clock=lambda: at).cycle()


def statuses(reporter: Reporter, command_id: str = "nightly") -> list[str]:
    return [r.status.value for r in reporter.command_history(command_id)]


def last_success_metric(client: Any) -> float:
    """Return ``monitorkit_last_success_timestamp_seconds`` of ``nightly`` from a scrape."""
    from prometheus_client.parser import text_string_to_metric_families

    text = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    (found,) = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "monitorkit_last_success_timestamp_seconds"
        and sample.labels.get("command_id") == "nightly"
    ]
    return float(found)


@pytest.fixture
def hourly(reporter: Reporter, settings: Any) -> None:
    """An hourly job kept 3 runs deep (after ``reporter``, which sets the schedules)."""
    settings.MONITORKIT_RETENTION = 3
    settings.MONITORKIT_SCHEDULES["nightly"] = {"schedule": "0 * * * *", "start_margin": 60}


@pytest.mark.usefixtures("hourly")
def test_missed_starts_never_push_the_last_real_run_out(
    reporter: Reporter, admin_client: Any, client: Any
) -> None:
    ended(reporter, 0, Status.FINISHED, hour(0))
    cycle(reporter, hour(0, 1))
    for n in range(1, 4):  # three missed starts: as many as the retention
        cycle(reporter, hour(n, 2))
    assert statuses(reporter) == ["MISSED"] * 3 + ["FINISHED"]

    for n in range(4, 14):  # and more: the misses keep their own newest ten
        cycle(reporter, hour(n, 2))
    assert statuses(reporter) == ["MISSED"] * MISSED_KEPT + ["FINISHED"]
    missed = [r for r in reporter.command_history("nightly") if r.status is Status.MISSED]
    assert [r.started for r in missed] == [hour(n) for n in range(13, 3, -1)]

    assert last_success_metric(client) == (hour(0) + dt.timedelta(seconds=2)).timestamp()
    store = reporter.health_store()
    assert store is not None
    assert store.states()["nightly"].last_success == hour(0) + dt.timedelta(seconds=2)

    # Real runs count against the retention among themselves only.
    for n in range(14, 18):
        ended(reporter, n, Status.FINISHED, hour(n))
    assert statuses(reporter) == ["FINISHED"] * 3 + ["MISSED"] * MISSED_KEPT


@pytest.mark.usefixtures("hourly")
def test_the_health_row_keeps_the_last_success_and_failure_past_retention(
    reporter: Reporter, client: Any
) -> None:
    store = reporter.health_store()
    assert store is not None
    ended(reporter, 0, Status.FINISHED, hour(0))
    cycle(reporter, hour(0, 1))
    ended(reporter, 1, Status.FAILED, hour(1))
    cycle(reporter, hour(1, 1))
    state = store.states()["nightly"]
    assert (state.last_success, state.last_failure, state.last_completion) == (
        hour(0) + dt.timedelta(seconds=2),
        hour(1) + dt.timedelta(seconds=2),
        hour(1) + dt.timedelta(seconds=2),
    )
    for n in range(2, 6):  # four more failures: the success is no longer kept as a run
        ended(reporter, n, Status.FAILED, hour(n))
        cycle(reporter, hour(n, 1))
    assert statuses(reporter) == ["FAILED"] * 3
    state = store.states()["nightly"]
    assert state.health == "FAILING"
    assert state.last_success == hour(0) + dt.timedelta(seconds=2)
    # The metric reads the stored time: no kept run is a success any more.
    assert last_success_metric(client) == (hour(0) + dt.timedelta(seconds=2)).timestamp()
    assert state.last_failure == state.last_completion == hour(5) + dt.timedelta(seconds=2)

    ended(reporter, 6, Status.FINISHED, hour(6))
    cycle(reporter, hour(6, 1))
    state = store.states()["nightly"]
    assert state.health == "OK" and state.last_failure == hour(5) + dt.timedelta(seconds=2)
    assert state.last_success == state.last_completion == hour(6) + dt.timedelta(seconds=2)


@pytest.mark.usefixtures("hourly")
def test_a_missed_row_shows_no_pid_and_no_duration(reporter: Reporter, admin_client: Any) -> None:
    ended(reporter, 0, Status.FINISHED, hour(0))
    cycle(reporter, hour(0, 1))
    cycle(reporter, hour(1, 2))

    one = admin_client.get("/monitor/api/commands/nightly.json").json()
    rows = [(r["status"], r["pid"], r["duration"]) for r in one["runs"]]
    assert rows == [("MISSED", None, None), ("FINISHED", 4242, 2.0)]

    out = io.StringIO()
    call_command("monitor_status", "--json", stdout=out)
    (item,) = json.loads(out.getvalue())
    assert (item["status"], item["pid"], item["duration"]) == ("MISSED", None, None)
    out = io.StringIO()
    call_command("monitor_status", "--command", "nightly", stdout=out)
    (line,) = [line for line in out.getvalue().splitlines() if "MISSED" in line]
    assert "0.0s" not in line

    page = admin_client.get("/monitor/commands/nightly/").content.decode()
    missed_row = page.split("MISSED", 1)[1].split("</tr>")[0]
    assert "pid" not in missed_row and "0.00s" not in missed_row
    overview = admin_client.get("/monitor/").content.decode()
    strip = overview.split('data-status="MISSED"')[1].split("</span>")[0]
    assert "0.00s" not in strip and "MISSED · " in strip  # a start, no duration of its own
