"""One judge, one set of inputs: every reader says the same health and failures in a row.

The overview's JSON, the command's JSON, the metric, ``monitor_status`` and the watcher (its
stored transition and the alert it sends) read the same records (``Reporter.judge_runs``) and
judge them with the same function (``overview.judge_one``), on SQLite, PostgreSQL and the local
Realtime Database server. And a run that stopped beating is never shown as running anywhere.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit.alerts.base import Notifier
from monitorkit.health.watch import Watcher
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.stores import Reporter, store_reporter
from monitorkit.transitions import Transition
from tests.stores.conftest import make_record
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "one-judge-token"
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "firebase"]


@pytest.fixture(params=STORES)
def reporter(request: pytest.FixtureRequest, settings: Any) -> Reporter:
    """The project's store as every reader finds it (``store_reporter``), on each backend."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    settings.MONITORKIT_STALE_AFTER = 60
    if request.param == "postgresql":
        settings.MONITORKIT_DATABASE_ALIAS = request.getfixturevalue("pg_alias")
    elif request.param == "firebase":
        server = request.getfixturevalue("rtdb_server")
        request.getfixturevalue("reporter_for")(server)
    found = store_reporter()
    assert found is not None
    return found


class Told(Notifier):
    """A notifier that keeps what it is told (the watcher's alerts), in this process."""

    name = "told"

    def __init__(self) -> None:
        self.transitions: list[Transition] = []

    def send(self, transition: Transition) -> None:
        self.transitions.append(transition)


def ended(reporter: Reporter, n: int, status: Status, at: dt.datetime) -> None:
    record = make_record(f"run-{n:05d}", "nightly", started=at)
    reporter.write(record)
    record.status = status
    record.finished = record.latest = at + dt.timedelta(seconds=2)
    record.message = "disk full" if status is Status.FAILED else "Command finished"
    reporter.write(record)


def everyone(admin_client: Any, client: Any, command_id: str) -> dict[str, tuple[str, int]]:
    """Return each reader's (health, failures in a row) for ``command_id``."""
    overview = admin_client.get("/monitor/api/overview.json").json()
    (row,) = [c for c in overview["commands"] if c["command_id"] == command_id]
    one = admin_client.get(f"/monitor/api/commands/{command_id}.json").json()
    text = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    labels = f'command_id="{command_id}"'
    (in_row,) = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("monitorkit_failures_in_row{") and f"{labels}}}" in line
    ]
    (health,) = [
        line.split('health="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("monitorkit_health{") and labels in line and line.endswith(" 1.0")
    ]
    out = io.StringIO()
    call_command("monitor_status", "--json", stdout=out)
    (status,) = [item for item in json.loads(out.getvalue()) if item["id"] == command_id]
    return {
        "overview.json": (row["health"], row["failures_in_row"]),
        "command.json": (one["health"], one["failures_in_row"]),
        "metrics": (health, int(in_row)),
        "monitor_status": (status["health"], status.get("failures_in_row")),
    }


def test_every_reader_and_the_watcher_count_the_same_failures_in_a_row(
    reporter: Reporter, admin_client: Any, client: Any, settings: Any
) -> None:
    settings.MONITORKIT_SCHEDULES["nightly"] = {"alert_after": 3}
    told = Told()
    store = reporter.health_store()
    assert store is not None
    watcher = Watcher(reporter, store, [told])
    start = utcnow() - dt.timedelta(hours=5)
    for n, status in enumerate([Status.FINISHED, Status.FAILED, Status.FAILED]):
        ended(reporter, n, status, start + dt.timedelta(hours=n))

    watcher.cycle()
    ((_, transition, alert),) = store.transitions("nightly")
    assert (transition.health, transition.failures_in_row, alert) == ("FAILING", 2, "waiting")
    assert store.states()["nightly"].health == "FAILING"
    said = everyone(admin_client, client, "nightly")
    assert set(said.values()) == {("FAILING", 2)}, said

    ended(reporter, 3, Status.FAILED, start + dt.timedelta(hours=3))
    watcher.cycle()  # the third failure reaches alert_after: the alert says 3
    assert [(t.health, t.failures_in_row) for t in told.transitions] == [("FAILING", 3)]
    said = everyone(admin_client, client, "nightly")
    assert set(said.values()) == {("FAILING", 3)}, said


def test_a_run_that_stopped_beating_is_never_shown_running(
    reporter: Reporter, admin_client: Any, client: Any
) -> None:
    """Stored RUNNING, "Command running", 2 of 40, silent for an hour: STALE everywhere."""
    silent_since = utcnow() - dt.timedelta(hours=1)
    record: RunRecord = make_record(
        "run-00001",
        "import_orders",
        status=Status.RUNNING,
        started=silent_since - dt.timedelta(seconds=30),
        latest=silent_since,
        message="Command running",
        progress={"done": 2, "total": 40},
    )
    reporter.write(record)  # what the run said before its SIGKILL, written as it was

    data = admin_client.get("/monitor/api/overview.json").json()
    (row,) = data["commands"]
    assert (row["health"], row.get("running"), row["progress"]) == ("STALE", False, None)
    assert (row["last_run"]["stale"], row["last_run"].get("running")) == (True, False)
    one = admin_client.get("/monitor/api/commands/import_orders.json").json()
    assert (one["health"], one["running"], one["progress"]) == ("STALE", False, None)
    assert [(r["stale"], r["running"]) for r in one["runs"]] == [(True, False)]

    for query in ("", "?kiosk=1"):
        html = admin_client.get(f"/monitor/{query}").content.decode()
        tr = html.split('<tr data-command-id="import_orders"')[1].split("</tr>")[0]
        assert "Command running" not in tr and "RUNNING" not in tr
        assert "ETA" not in tr and "<progress" not in tr and "2 / 40" not in tr
        assert "No heartbeat since" in tr
    page = admin_client.get("/monitor/commands/import_orders/").content.decode()
    # "ETA" as a word: the page's CSRF token (the nav's log-out form) may hold the letters.
    assert not re.search(r"\bETA\b", page)
    assert "Command running" not in page and 'class="running"' not in page
    assert "Progress 2 / 40 (5%) when last heard of" in page
    assert "{&quot;done&quot;" not in page and '{"done"' not in page

    text = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    ids = 'command="import_orders",command_id="import_orders"'
    assert f'monitorkit_health{{{ids},health="RUNNING"}} 0.0' in text
    assert f'monitorkit_last_run_status{{{ids},status="STALE"}} 1.0' in text

    out = io.StringIO()
    call_command("monitor_status", stdout=out)
    assert "Command running" not in out.getvalue() and "No heartbeat since" in out.getvalue()
    out = io.StringIO()
    call_command("monitor_status", "--json", stdout=out)
    (item,) = json.loads(out.getvalue())
    assert (item["health"], item["stale"], item["running"]) == ("STALE", True, False)


def test_the_judge_reads_the_same_records_through_every_store(
    reporter: Reporter, settings: Any
) -> None:
    """``judge_runs``: the newest alone when it finished, else the newest ``depth`` records."""
    start = utcnow() - dt.timedelta(hours=9)
    statuses = [Status.FINISHED, Status.FAILED, Status.FAILED, Status.FAILED]
    for n, status in enumerate(statuses):
        ended(reporter, n, status, start + dt.timedelta(hours=n))
    for n in range(2):
        record = make_record(f"ok-{n}", "healthy", started=start + dt.timedelta(hours=n))
        reporter.write(record)
        record.status, record.finished = Status.FINISHED, record.started
        reporter.write(record)
    found = reporter.judge_runs(3)
    assert [r.run_id for r in found["nightly"]] == ["run-00003", "run-00002", "run-00001"]
    assert found["nightly"][0].message == "disk full"  # the newest is read whole
    assert [r.run_id for r in found["healthy"]] == ["ok-1"]


def test_a_gap_left_by_trimmed_missed_starts_does_not_shorten_the_window(
    reporter: Reporter,
) -> None:
    """Seqs of an id have gaps once ``MISSED`` rows are trimmed among themselves: the newest
    ``depth`` records are still ``depth`` records, for the strip and for the judge."""
    from monitorkit.stores.base import MISSED_KEPT

    start = utcnow() - dt.timedelta(days=2)
    for n in range(5):
        ended(reporter, n, Status.FAILED, start + dt.timedelta(hours=n))
    missed_count = MISSED_KEPT + 2  # the two oldest are trimmed: a gap of two seqs
    for n in range(missed_count):
        at = start + dt.timedelta(hours=5, minutes=n)
        reporter.store_missed(
            make_record(f"missed-{n:05d}", "nightly", status=Status.MISSED, started=at, finished=at)
        )
    ended(reporter, 99, Status.FAILED, start + dt.timedelta(hours=6))

    depth = 1 + MISSED_KEPT + 3  # the newest run, the kept misses, three older runs
    expected = ["run-00099"]
    expected += [f"missed-{n:05d}" for n in reversed(range(2, missed_count))]
    expected += ["run-00004", "run-00003", "run-00002"]
    outcomes = reporter.recent_outcomes(depth)["nightly"]
    assert [o["run_id"] for o in outcomes] == expected
    judged = reporter.judge_runs(depth)["nightly"]
    assert [r.run_id for r in judged] == expected
    assert all(r.pid is None for r in judged if r.status is Status.MISSED)
