"""Who watches the watcher: its heartbeat in every store, and what every reader makes of it.

Each store (SQLite, PostgreSQL, the local Realtime Database server, the test-only file store)
keeps one beat per watcher and answers the newest; the page's JSON, its banner, the metrics and
``monitor_status`` say the watcher is silent once no cycle ended for two intervals, with time
moved on by freezegun. The ping goes to a real local HTTP server.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from typing import Any

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from monitorkit.health.watch import Watcher
from monitorkit.health.watcher import judge, ping
from monitorkit.record import parse_timestamp
from monitorkit.stores import Reporter, store_reporter
from monitorkit.stores.health_store import WatcherBeat
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "watcher-beat-token"
T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "firebase", "file"]


@pytest.fixture(params=STORES)
def reporter(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> Reporter:
    """The project's store as every reader finds it (``store_reporter``), on each backend."""
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "nightly": {"schedule": "0 3 * * *"},
    }
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    if request.param == "postgresql":
        settings.MONITORKIT_DATABASE_ALIAS = request.getfixturevalue("pg_alias")
    elif request.param == "firebase":
        server = request.getfixturevalue("rtdb_server")
        request.getfixturevalue("reporter_for")(server)
    elif request.param == "file":
        settings.MONITORKIT_STORE = "tests.filestore.FileStore"
        settings.TEST_FILE_STORE = str(tmp_path / "store.json")
    found = store_reporter()
    assert found is not None
    return found


def beat(watcher: str, at: dt.datetime, interval: float | None = 30.0) -> WatcherBeat:
    return WatcherBeat(watcher, f"host-{watcher}", 4242, at, interval, scheduled=1)


def test_the_newest_beat_of_any_watcher_is_the_last_cycle(reporter: Reporter) -> None:
    store = reporter.health_store()
    assert store is not None
    assert store.last_cycle() is None
    store.record_cycle(beat("a", T0))
    store.record_cycle(beat("b", T0 + dt.timedelta(seconds=10), None))
    assert store.last_cycle() == beat("b", T0 + dt.timedelta(seconds=10), None)
    store.record_cycle(beat("a", T0 + dt.timedelta(seconds=40)))  # a's second beat replaces it
    assert store.last_cycle() == beat("a", T0 + dt.timedelta(seconds=40))


def test_a_new_watcher_forgets_the_beats_of_watchers_silent_for_a_day(reporter: Reporter) -> None:
    store = reporter.health_store()
    assert store is not None
    store.record_cycle(beat("old", T0 - dt.timedelta(days=2)))
    store.record_cycle(beat("recent", T0 - dt.timedelta(hours=3)))
    store.record_cycle(beat("new", T0))
    store.record_cycle(beat("new", T0 + dt.timedelta(minutes=1)))
    kept = {b.watcher for b in _all_beats(reporter)}
    assert kept == {"recent", "new"}


def test_once_watchers_of_one_host_keep_one_beat_and_loops_one_each(reporter: Reporter) -> None:
    """Cron's ``--once`` runs share their host's record; each loop process has its own."""
    store = reporter.health_store()
    assert store is not None
    for minutes in range(3):  # three cron runs of monitor_watch --once
        with freeze_time(T0 + dt.timedelta(minutes=minutes)):
            Watcher(reporter, store, [], interval=None).cycle()
    (once,) = _all_beats(reporter)
    assert once.watcher.startswith("once@") and once.interval is None
    assert once.at == T0 + dt.timedelta(minutes=2)
    for _ in range(2):  # two loops at once, on the same host
        with freeze_time(T0 + dt.timedelta(minutes=3)):
            Watcher(reporter, store, [], interval=30.0).cycle()
    assert len(_all_beats(reporter)) == 3


def _all_beats(reporter: Reporter) -> list[WatcherBeat]:
    """Every stored beat, read past the store's face (which answers only the newest)."""
    store: Any = reporter.health_store()
    name = type(store).__name__
    if name == "DatabaseHealthStore":
        from monitorkit.models import WatcherCycle

        return [
            WatcherBeat(r.watcher, r.host, r.pid, r.at, r.interval, r.scheduled)
            for r in WatcherCycle.objects.using(store.alias).all()
        ]
    if name == "FirebaseHealthStore":
        from monitorkit.stores.firebase.health import _beat, _children

        value = store._client().get(store._path("watchers")).value
        return [b for k, d in _children(value).items() if (b := _beat(k, d)) is not None]
    with open(store.path) as stored:
        watchers = json.load(stored)["watchers"]
    return [
        WatcherBeat(key, n["host"], n["pid"], at, n["interval"], n["scheduled"])
        for key, n in watchers.items()
        if (at := parse_timestamp(n["at"])) is not None
    ]


def test_two_watchers_beat_without_conflict_and_say_their_interval(reporter: Reporter) -> None:
    store = reporter.health_store()
    assert store is not None
    looping = Watcher(reporter, store, [], interval=15.0)
    by_cron = Watcher(reporter, reporter.health_store(), [])  # its own store object, as a process
    with freeze_time(T0):
        first = looping.cycle().beat
    with freeze_time(T0 + dt.timedelta(seconds=5)):
        second = by_cron.cycle().beat
    assert first is not None and second is not None
    assert (first.interval, second.interval) == (15.0, None)
    assert first.scheduled == second.scheduled == 1  # "nightly"; scheduled_command has none
    assert first.watcher != second.watcher
    assert store.last_cycle() == second
    assert {b.watcher for b in _all_beats(reporter)} == {first.watcher, second.watcher}


def readers(admin_client: Any, client: Any) -> dict[str, Any]:
    """Return what the overview JSON, the page, the metrics and monitor_status say of it."""
    overview = admin_client.get("/monitor/api/overview.json").json()["watcher"]
    page = admin_client.get("/monitor/").content.decode()
    text = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    metrics = {
        line.split(" ")[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("monitorkit_watcher_")
    }
    out, err = io.StringIO(), io.StringIO()
    call_command("monitor_status", "--json", stdout=out, stderr=err)
    items = json.loads(out.getvalue())
    table = io.StringIO()
    call_command("monitor_status", stdout=table)
    return {
        "json": overview,
        "banner": 'id="watcher-banner" class="banner" role="alert">' in page,
        "metrics": metrics,
        "status_items": {(i["watcher_silent"], i["watcher_last_cycle"]) for i in items},
        "status_stderr": err.getvalue(),
        "status_table": table.getvalue().splitlines()[-1],
    }


def test_a_watcher_that_stops_is_silent_after_two_cycles_everywhere(
    reporter: Reporter, admin_client: Any, client: Any
) -> None:
    store = reporter.health_store()
    assert store is not None
    with freeze_time(T0):
        said = readers(admin_client, client)
    assert said["json"]["silent"] and said["json"]["last_cycle"] is None  # none ever ran
    assert said["banner"] and "No watcher has ever run" in said["json"]["message"]
    assert said["metrics"]["monitorkit_watcher_last_cycle_timestamp_seconds"] == 0.0
    assert said["metrics"]["monitorkit_watcher_silent"] == 1.0
    assert said["status_items"] == {(True, None)}
    assert said["status_stderr"].startswith("WARNING: No watcher has ever run")
    assert said["status_table"].startswith("WARNING: No watcher has ever run")

    watcher = Watcher(reporter, store, [], interval=30.0)
    with freeze_time(T0):
        watcher.cycle()
    for seconds in (1, 59):  # within two cycles of 30 s: all well
        with freeze_time(T0 + dt.timedelta(seconds=seconds)):
            said = readers(admin_client, client)
        assert not said["json"]["silent"] and said["json"]["message"] == ""
        assert said["json"]["last_cycle"] == "2026-12-01T12:00:00.000000Z"
        assert said["json"]["interval_seconds"] == 30.0
        assert not said["banner"]
        assert said["metrics"]["monitorkit_watcher_last_cycle_timestamp_seconds"] == T0.timestamp()
        assert said["metrics"]["monitorkit_watcher_interval_seconds"] == 30.0
        assert said["metrics"]["monitorkit_watcher_silent"] == 0.0
        assert said["status_items"] == {(False, "2026-12-01T12:00:00.000000Z")}
        assert said["status_stderr"] == "" and not said["status_table"].startswith("WARNING")

    with freeze_time(T0 + dt.timedelta(seconds=61)):  # the watcher stopped: two cycles missed
        said = readers(admin_client, client)
    assert said["json"]["silent"] and said["banner"]
    assert "since 2026-12-01 12:00:00 UTC" in said["json"]["message"]
    assert said["metrics"]["monitorkit_watcher_silent"] == 1.0
    assert said["status_items"] == {(True, "2026-12-01T12:00:00.000000Z")}
    assert (
        "WARNING: No watcher has run a cycle since 2026-12-01 12:00:00 UTC"
        in (said["status_stderr"])
    )


def test_a_project_with_nothing_to_watch_has_no_banner(
    reporter: Reporter, admin_client: Any, settings: Any
) -> None:
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_ALERTS = {}
    data = admin_client.get("/monitor/api/overview.json").json()["watcher"]
    assert data["expected"] is False and data["silent"] is False


def test_the_judge_counts_a_once_watcher_by_the_setting() -> None:
    once = beat("cron", T0, interval=None)
    assert judge(once, T0 + dt.timedelta(seconds=599), 300.0, True).silent is False
    assert judge(once, T0 + dt.timedelta(seconds=601), 300.0, True).silent is True
    assert judge(once, T0 + dt.timedelta(days=9), 300.0, False).silent is False  # not expected
    assert judge(None, T0, 300.0, True).silent is True  # never ran


def test_each_cycle_pings_the_url_and_a_failure_says_no_secret(
    http_sink: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
    settings.MONITORKIT_WATCHER_PING_URL = f"{http_sink.url}/ping/{secret}"
    reporter = store_reporter()
    assert reporter is not None
    watcher = Watcher(reporter, reporter.health_store(), [])  # type: ignore[arg-type]
    assert watcher.cycle().ping_error is None
    http_sink.respond(500)
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        report = watcher.cycle()
    assert [(r.method, r.path) for r in http_sink.requests] == [("GET", f"/ping/{secret}")] * 2
    assert report.ping_error is not None and "answered 500" in report.ping_error
    assert "could not ping" in caplog.text and secret not in caplog.text

    settings.MONITORKIT_WATCHER_PING_URL = f"http://127.0.0.1:9/ping/{secret}?key={secret}"
    error = ping(settings.MONITORKIT_WATCHER_PING_URL, (0.5, 0.5))
    assert error is not None and error.startswith("ping http://127.0.0.1:9 failed: ")
    assert secret not in error
