"""Every reader shows the watcher's stored judgement while a watcher runs (issue 18, item 2).

The page's JSON (overview and command), the metrics and ``monitor_status`` show the health the
watcher stored at its last cycle, so a missed start turns ``MISSED`` everywhere with its alert,
not before. A reader judges itself, with the same function and inputs, only what no watcher
has judged: while no watcher runs (no cycle within two of its intervals), and for a record
newer than the watcher's last cycle. A run that stopped beating is ``STALE`` at once. On
SQLite, PostgreSQL and the local Realtime Database server.
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
from tests.stores.conftest import make_record
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_one_judge import Told, ended, everyone, reporter  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

#: The watcher's loop interval in these tests: it counts as running for two of them.
INTERVAL = 3600.0


def judged_by(admin_client: Any, command_id: str = "nightly") -> dict[str, str]:
    overview = admin_client.get("/monitor/api/overview.json").json()
    (row,) = [c for c in overview["commands"] if c["command_id"] == command_id]
    one = admin_client.get(f"/monitor/api/commands/{command_id}.json").json()
    out = io.StringIO()
    call_command("monitor_status", "--json", stdout=out)
    (status,) = [item for item in json.loads(out.getvalue()) if item["id"] == command_id]
    return {
        "overview.json": row["judged_by"],
        "command.json": one["judged_by"],
        "monitor_status": status["judged_by"],
    }


def cycle(reporter: Reporter, at: dt.datetime, told: Told, interval: float = INTERVAL) -> None:
    store = reporter.health_store()
    assert store is not None
    Watcher(reporter, store, [told], clock=lambda: at, interval=interval).cycle()


@pytest.fixture
def hour(reporter: Reporter, settings: Any) -> dt.datetime:
    """An hourly job whose last start was due over two minutes ago, and its last run before."""
    settings.MONITORKIT_SCHEDULES["nightly"] = {"schedule": "0 * * * *", "start_margin": 60}
    due = (utcnow() - dt.timedelta(minutes=2)).replace(minute=0, second=0, microsecond=0)
    ended(reporter, 0, Status.FINISHED, due - dt.timedelta(hours=1) + dt.timedelta(seconds=5))
    return due


def test_a_missed_start_shows_with_its_alert_not_before(
    reporter: Reporter, hour: dt.datetime, admin_client: Any, client: Any
) -> None:
    told = Told()
    cycle(reporter, hour - dt.timedelta(minutes=1), told)  # before the start was due: OK
    # The start's margin has passed since: judged now it is MISSED, but no watcher said so.
    every = everyone(admin_client, client, "nightly")
    assert {health for health, _ in every.values()} == {"OK"}, every
    assert set(judged_by(admin_client).values()) == {"watcher"}
    assert told.transitions == []

    cycle(reporter, utcnow(), told)  # the watcher's next cycle stores the miss and alerts
    assert [t.health for t in told.transitions] == ["MISSED"]
    every = everyone(admin_client, client, "nightly")
    assert {health for health, _ in every.values()} == {"MISSED"}, every


def test_without_a_running_watcher_every_reader_judges(
    reporter: Reporter, hour: dt.datetime, admin_client: Any, client: Any
) -> None:
    every = everyone(admin_client, client, "nightly")  # no watcher ever ran
    assert {health for health, _ in every.values()} == {"MISSED"}, every
    assert set(judged_by(admin_client).values()) == {"reader"}

    # A watcher that ran once and stopped: silent after two of its intervals (60 s each).
    cycle(reporter, hour - dt.timedelta(minutes=1), Told(), interval=60.0)
    every = everyone(admin_client, client, "nightly")
    assert {health for health, _ in every.values()} == {"MISSED"}, every
    assert set(judged_by(admin_client).values()) == {"reader"}


def test_a_run_newer_than_the_last_cycle_is_judged_by_the_reader(
    reporter: Reporter, hour: dt.datetime, admin_client: Any, client: Any
) -> None:
    cycle(reporter, hour - dt.timedelta(minutes=1), Told())  # stored OK
    ended(reporter, 1, Status.FAILED, utcnow() - dt.timedelta(seconds=30))  # since that cycle
    every = everyone(admin_client, client, "nightly")
    assert set(every.values()) == {("FAILING", 1)}, every
    assert set(judged_by(admin_client).values()) == {"reader"}


def test_a_run_that_stopped_beating_is_stale_at_once(
    reporter: Reporter, settings: Any, admin_client: Any, client: Any
) -> None:
    now = utcnow()
    silent_since = now - dt.timedelta(minutes=10)
    reporter.write(make_record("run-quiet", "nightly", started=silent_since))
    cycle(reporter, silent_since + dt.timedelta(seconds=30), Told())  # stored RUNNING
    store = reporter.health_store()
    assert store is not None and store.states()["nightly"].health == "RUNNING"
    every = everyone(admin_client, client, "nightly")  # its heartbeat is 10 min old (> 60 s)
    assert {health for health, _ in every.values()} == {"STALE"}, every
    assert set(judged_by(admin_client).values()) == {"reader"}
