"""``manage.py monitor_snooze`` and ``monitor_watch --once`` as real processes (issue 20, item 4).

A snooze set from the command line holds the alerts of exactly the command ids its pattern
matches, while the others are alerted as ever; ended from the command line, it brings one
summary per command id, posted to a real local webhook and mailed to a real local SMTP server
once, with three watchers at once. On SQLite, PostgreSQL and the local Realtime Database server.
"""

from __future__ import annotations

import datetime as dt
import getpass
import sqlite3
from typing import Any

import pytest

from tests.process import Project
from tests.test_watch_processes import _smtp_port, watch_once, watch_settings

# The watcher's judgement and alerts across real processes (snoozes and maintenance windows):
# their subject does not change with the Python or Django version, and the legs run the same
# features' in-process tests: on the main leg only (CI's time).
pytestmark = [pytest.mark.subprocess, pytest.mark.main_leg]


def alerted(sink: Any) -> list[str]:
    """Return what the webhook was told: ``<command id>:<health>``, or ``...:summary``."""
    said = [request.json() for request in sink.requests]
    return [f"{b['command_id']}:{'summary' if b.get('snooze') else b['health']}" for b in said]


def snooze_then_end(project: Project, settings: dict[str, Any], sink: Any, watchers: int) -> None:
    """Snooze ``flaky_*``, fail it and ``fail_command``, watch, end the snooze, watch at once."""
    set_by = project.run(
        "monitor_snooze", "flaky_*", "--for", "2h", "--reason", "supplier migration",
        settings=settings,
    )  # fmt: skip
    assert set_by.returncode == 0, set_by.stderr
    assert set_by.stdout.startswith("snoozed flaky_* until ")
    listed = project.run("monitor_snooze", "--list", settings=settings)
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    assert "  flaky_*  running  " in line and line.endswith(
        f"by {getpass.getuser()}  supplier migration"
    )

    (project.db_dir / "failing").touch()
    assert project.run("flaky_command", settings=settings).returncode == 1
    assert project.run("fail_command", settings=settings).returncode == 1
    out = watch_once(project, settings).stdout
    assert "flaky_command  NEW -> FAILING" in out  # judged and stored as ever...
    assert alerted(sink) == ["fail_command:FAILING"]  # ...and only the other one alerted
    watch_once(project, settings)
    assert alerted(sink) == ["fail_command:FAILING"]

    ended = project.run("monitor_snooze", "flaky_*", "--end", settings=settings)
    assert ended.returncode == 0, ended.stderr
    assert "ended snooze" in ended.stdout
    running = [project.popen("monitor_watch", "--once", settings=settings) for _ in range(watchers)]
    outputs = []
    for watcher in running:
        stdout, stderr = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, stderr
        outputs.append(stdout)
    assert sum(o.count("flaky_command  snooze") for o in outputs) == 1  # stored by one watcher
    watch_once(project, settings)  # and nothing said again by a later cycle
    assert alerted(sink) == ["fail_command:FAILING", "flaky_command:summary"]
    summary = sink.requests[-1].json()
    assert "by " + getpass.getuser() + ": supplier migration" in summary["text"]
    assert "Still wrong: it is failing" in summary["text"]
    assert summary["health"] == "FAILING" and summary["id"].startswith("flaky_command:summary:")


def test_a_cli_snooze_holds_exactly_its_commands_and_ends_with_one_summary(
    store_project: Project, http_sink: Any, smtp_server: Any
) -> None:
    settings = watch_settings(http_sink, inbox_port=_smtp_port(smtp_server))
    snooze_then_end(store_project, settings, http_sink, watchers=3)
    mails = [envelope.content for envelope in smtp_server.envelopes]
    assert len(mails) == 2  # fail_command's alert, flaky_command's summary: each once
    assert sum(b"flaky_command: snooze ended, still FAILING" in mail for mail in mails) == 1


def test_a_cli_snooze_over_firebase_ends_with_one_summary(
    project: Project, http_sink: Any, rtdb_server: Any
) -> None:
    from tests.test_firebase_processes import KEY, firebase, rest_get

    settings = {**firebase(rtdb_server.url), **watch_settings(http_sink)}
    snooze_then_end(project, settings, http_sink, watchers=2)
    (stored,) = rest_get(rtdb_server, f"{KEY}/snoozes").values()
    assert stored["pattern"] == "flaky_*" and stored["closed"]
    assert project.runs() == []  # nothing went to the database: Firebase is the store


def test_monitor_snooze_refuses_what_it_cannot_read(project: Project) -> None:
    wrong = project.run("monitor_snooze", "nightly", "--for", "soon")
    assert wrong.returncode != 0 and "is not a duration" in wrong.stderr
    past = project.run("monitor_snooze", "nightly", "--until", "2001-01-01T00:00")
    assert past.returncode != 0 and "not in the future" in past.stderr
    none = project.run("monitor_snooze", "nightly", "--end")
    assert none.returncode != 0 and "No running snooze of 'nightly'" in none.stderr


def test_monitor_snooze_until_a_time_with_a_zone_and_times_without_one_in_time_zone(
    project: Project,
) -> None:
    """``--until`` with a zone is that moment; without one it is read in ``TIME_ZONE`` (here
    New York: 08:00 is 13:00 UTC in January, 12:00 UTC in July, its summer time)."""
    year = dt.date.today().year + 1
    zoned = project.run(
        "monitor_snooze", "nightly", "--until", f"{year}-03-10T08:00+02:00", "--reason", "move"
    )
    assert zoned.returncode == 0, zoned.stderr
    assert zoned.stdout.startswith(f"snoozed nightly until {year}-03-10 06:00:00 UTC (snooze ")
    new_york = {"TIME_ZONE": "America/New_York"}
    for pattern, day in (("export", "01-15"), ("import_*", "07-15")):
        local = project.run(
            "monitor_snooze", pattern, "--until", f"{year}-{day}T08:00", settings=new_york
        )
        assert local.returncode == 0, local.stderr
    listed = project.run("monitor_snooze", "--list", settings=new_york)
    assert listed.returncode == 0, listed.stderr
    ends = {
        line.split()[1]: line.split(" -> ")[1].split("  by ")[0]
        for line in listed.stdout.splitlines()
    }
    assert ends == {
        "nightly": f"{year}-03-10 06:00:00 UTC",
        "export": f"{year}-01-15 13:00:00 UTC",
        "import_*": f"{year}-07-15 12:00:00 UTC",
    }
    con = sqlite3.connect(project.db_path)
    try:
        stored = dict(con.execute("SELECT pattern, until FROM monitorkit_commandsnooze"))
    finally:
        con.close()
    assert {p: until[:19] for p, until in stored.items()} == {
        "nightly": f"{year}-03-10 06:00:00",
        "export": f"{year}-01-15 13:00:00",
        "import_*": f"{year}-07-15 12:00:00",
    }


def test_a_maintenance_window_holds_and_its_early_end_brings_one_summary(
    store_project: Project, http_sink: Any
) -> None:
    """The window under way (it began this minute, for an hour) is stored by the watcher as a
    snooze, held, listed, ended early by its id, and summarised once by two watchers at once."""
    now = dt.datetime.now(dt.timezone.utc)
    settings = watch_settings(http_sink)
    settings["MONITORKIT_MAINTENANCE"] = [
        {
            "match": "flaky_*",
            "cron": f"{now.minute} {now.hour} * * *",
            "timezone": "UTC",
            "duration": 3600,
            "reason": "database upgrade",
        }
    ]
    (store_project.db_dir / "failing").touch()
    assert store_project.run("flaky_command", settings=settings).returncode == 1
    assert store_project.run("fail_command", settings=settings).returncode == 1
    watch_once(store_project, settings)
    assert alerted(http_sink) == ["fail_command:FAILING"]
    listed = store_project.run("monitor_snooze", "--list", settings=settings).stdout
    (line, window) = listed.splitlines()
    assert "  flaky_*  running  " in line and "by MONITORKIT_MAINTENANCE  database upgrade" in line
    assert window.startswith("window flaky_*  cron ")
    snooze_id = line.split()[0]
    assert snooze_id.startswith("maintenance-")

    ended = store_project.run("monitor_snooze", snooze_id, "--end", settings=settings)
    assert ended.returncode == 0, ended.stderr
    running = [store_project.popen("monitor_watch", "--once", settings=settings) for _ in range(2)]
    for watcher in running:
        _, stderr = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, stderr
    watch_once(store_project, settings)
    assert alerted(http_sink) == ["fail_command:FAILING", "flaky_command:summary"]
    text = http_sink.requests[-1].json()["text"]
    assert "by MONITORKIT_MAINTENANCE: database upgrade" in text
