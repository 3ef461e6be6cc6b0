"""Who watches the watcher, with real ``monitor_watch`` and ``manage.py`` processes.

On SQLite, PostgreSQL and the local Realtime Database server: a watcher loop stores its
heartbeat each cycle; once it is stopped (SIGTERM), the page, its JSON, the metrics and
``monitor_status`` say it is silent within two of its cycles (read at the boundary with time
frozen in this process, and by a real ``monitor_status`` once the time has really passed); a
monitored command logs one warning while no watcher runs; three watcher loops still alert once;
the ping reaches a real local HTTP server.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from freezegun import freeze_time

from monitorkit.stores import store_reporter
from tests.process import PostgresProject, Project, wait_for, wait_for_line
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_watcher_beat import TOKEN, readers
from tests.test_watch_processes import FAST, watch_settings

pytestmark = [pytest.mark.subprocess, pytest.mark.once, pytest.mark.django_db(transaction=True)]

SCHEDULES = {"scheduled_command": {"schedule": None}, "nightly": {"schedule": "0 3 * * *"}}
NEVER = "No watcher has ever run"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "firebase"]
)
def watched(
    request: pytest.FixtureRequest, settings: Any, tmp_path: Path
) -> tuple[Project, dict[str, Any]]:
    """A project whose processes write the store this test reads in-process, and its settings.

    SQLite: the processes' database file is this test's own; PostgreSQL: both use one fresh
    database; Firebase: both use the local server.
    """
    run_settings: dict[str, Any] = {**FAST, "MONITORKIT_SCHEDULES": SCHEDULES}
    settings.MONITORKIT_SCHEDULES = SCHEDULES
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    if request.param == "sqlite":
        (tmp_path / "db.sqlite3").symlink_to(connection.settings_dict["NAME"])
        return Project(tmp_path), run_settings
    if request.param == "postgresql":
        alias = request.getfixturevalue("pg_alias")
        settings.MONITORKIT_DATABASE_ALIAS = alias
        postgres = request.getfixturevalue("postgres")
        return PostgresProject(tmp_path, postgres, alias.removeprefix("pg_")), run_settings
    from tests.test_firebase_processes import firebase

    server = request.getfixturevalue("rtdb_server")
    chosen = firebase(server.url)
    for name, value in chosen.items():
        setattr(settings, name, value)
    return request.getfixturevalue("project"), {**run_settings, **chosen}


def stop(process: Any) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 0


def test_a_stopped_watcher_is_shown_silent_within_two_cycles(
    watched: tuple[Project, dict[str, Any]], admin_client: Any, client: Any
) -> None:
    project, run_settings = watched
    process = project.popen("monitor_watch", "--interval=1", settings=run_settings)
    try:
        wait_for_line(process, "checked")
        wait_for_line(process, "checked")  # a second cycle: the beat moved on
    finally:
        stop(process)
    reporter = store_reporter()
    store = reporter.health_store() if reporter is not None else None
    assert store is not None
    last = store.last_cycle()
    assert last is not None and (last.pid, last.interval, last.scheduled) == (process.pid, 1.0, 1)

    with freeze_time(last.at + dt.timedelta(seconds=1.9)):  # within two cycles: all well
        said = readers(admin_client, client)
    assert not said["json"]["silent"] and not said["banner"]
    assert said["metrics"]["monitorkit_watcher_silent"] == 0.0
    assert said["metrics"]["monitorkit_watcher_last_cycle_timestamp_seconds"] == last.at.timestamp()
    assert said["status_stderr"] == ""

    with freeze_time(last.at + dt.timedelta(seconds=2.1)):  # two cycles missed: silent
        said = readers(admin_client, client)
    assert said["json"]["silent"] and said["banner"]
    assert said["json"]["last_cycle"] == last.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert said["metrics"]["monitorkit_watcher_silent"] == 1.0
    assert said["metrics"]["monitorkit_watcher_interval_seconds"] == 1.0
    assert said["status_items"] == {(True, said["json"]["last_cycle"])}
    assert said["status_stderr"].startswith("WARNING: No watcher has run a cycle since")

    def real_status_says_silent() -> bool:
        result = project.run("monitor_status", "--json", settings=run_settings)
        items = json.loads(result.stdout)
        return bool(items) and all(item["watcher_silent"] for item in items)

    wait_for(real_status_says_silent, timeout=30, pause=0.2)  # real time passes: two seconds


def test_a_monitored_command_warns_once_while_no_watcher_runs(
    watched: tuple[Project, dict[str, Any]], tmp_path: Path
) -> None:
    project, run_settings = watched
    release = tmp_path / "release"
    release.touch()  # the plain twin is not held: it has no look to wait for
    plain = project.run(
        "barrier_command", f"--release={release}", settings=run_settings, twin="plain"
    )
    release.unlink()
    code, out, err = held_until_warned(project, ("barrier_command",), run_settings, release)
    assert code == 0, err[-2000:]
    assert out == plain.stdout  # the command's own output is untouched
    assert err.count("monitorkit: ") == 1 and NEVER in err, err[-2000:]
    # The command's own class declares a schedule: that is enough (no setting, no alerts).
    release.unlink()
    own_settings = {**run_settings, "MONITORKIT_SCHEDULES": {}}
    code, out, err = held_until_warned(project, ("scheduled_command",), own_settings, release)
    assert code == 0 and out == "ran\n" and err.count(NEVER) == 1, err[-2000:]


def held_until_warned(
    project: Project, args: tuple[str, ...], settings: dict[str, Any], release: Path
) -> tuple[int, str, str]:
    """Run a command that waits for ``release`` until it has logged the watcher warning.

    The sender takes its look at the watcher once the run's start is stored and nothing waits
    to be sent (``monitorkit/recording/sender.py``): a command that ends before that, as a
    short one may on a busy machine, is not held for it and says nothing. So the command is
    held until the warning is on its stderr (or its own 60 s limit), then let go; what it
    printed is returned whole.
    """
    process = project.popen(*args, f"--release={release}", settings=settings)
    assert process.stderr is not None
    seen: list[str] = []
    try:
        while True:
            line = process.stderr.readline()
            seen.append(line)
            if NEVER in line or not line:
                break
    finally:
        release.touch()
    out, err = process.communicate(timeout=60)
    return process.returncode, out, "".join(seen) + err


def test_a_monitored_command_says_nothing_when_a_watcher_runs_or_none_is_needed(
    watched: tuple[Project, dict[str, Any]],
) -> None:
    project, run_settings = watched
    # Nothing needs a watcher: nothing is said.
    quiet = project.run("sleep_command", "--seconds=0.6", settings={**FAST})
    assert "watcher" not in quiet.stderr, quiet.stderr[-2000:]
    # A watcher ran a cycle a moment ago (by cron: judged by MONITORKIT_WATCHER_INTERVAL, 60 s).
    assert project.run("monitor_watch", "--once", settings=run_settings).returncode == 0
    after = project.run("sleep_command", "--seconds=0.6", settings=run_settings)
    assert after.returncode == 0 and "watcher" not in after.stderr, after.stderr[-2000:]


def beats(project: Project) -> list[dict[str, Any]]:
    """Return the stored watcher rows, straight from the database."""
    sql = "SELECT * FROM monitorkit_watchercycle ORDER BY at"
    if isinstance(project, PostgresProject):
        with project.cluster.connect(project.database) as con:
            return list(con.execute(sql).fetchall())
    con = sqlite3.connect(project.db_path, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in con.execute(sql).fetchall()]
    finally:
        con.close()


def test_three_watcher_loops_beat_apart_and_alert_once(store_project: Project, http_sink: Any):
    settings = watch_settings(http_sink)
    (store_project.db_dir / "failing").touch()
    assert store_project.run("flaky_command", settings=settings).returncode == 1
    loops = [
        store_project.popen("monitor_watch", "--interval=0.3", settings=settings) for _ in range(3)
    ]
    try:
        wait_for(lambda: http_sink.requests, timeout=60)
        for loop in loops:  # each ran at least two cycles after the alert could be sent
            for _ in range(3):
                wait_for_line(loop, "checked")
    finally:
        for loop in loops:
            stop(loop)
    assert len(http_sink.requests) == 1
    assert http_sink.requests[0].json()["health"] == "FAILING"
    rows = beats(store_project)
    assert sorted(row["pid"] for row in rows) == sorted(loop.pid for loop in loops)
    assert {row["interval"] for row in rows} == {0.3}


def test_each_cycle_pings_the_url_and_a_failed_ping_names_no_secret(
    project: Project, http_sink: Any
) -> None:
    secret = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
    chosen = {**FAST, "MONITORKIT_WATCHER_PING_URL": f"{http_sink.url}/ping/{secret}"}
    done = project.run("monitor_watch", "--once", settings=chosen)
    assert done.returncode == 0, done.stderr[-2000:]
    http_sink.respond(503)
    failed = project.run("monitor_watch", "--once", settings=chosen)
    assert failed.returncode == 0  # a failed ping costs nothing else
    assert [(r.method, r.path) for r in http_sink.requests] == [("GET", f"/ping/{secret}")] * 2
    assert "could not ping: ping http://127.0.0.1:" in failed.stderr
    assert "answered 503" in failed.stderr and secret not in failed.stderr + failed.stdout
