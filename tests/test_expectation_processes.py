"""Expectations about a run's outcome, with real ``manage.py`` processes and real alerts.

A run that finishes too fast (or slower than usual), or whose metadata fails its check, is
stored ``FINISHED`` with ``unmet`` saying why; ``monitor_watch --once`` judges its command
``SUSPECT`` and alerts once, through a real webhook server, on SQLite and on PostgreSQL. A
check that raises or hangs changes nothing about the command: its output and exit code are its
unmonitored twin's, and it ends within the flush bound.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.process import Project

# The watcher's judgement and alerts across real processes (expectations about the outcome): their
# subject does not change with the Python or Django version, and the legs run the same features'
# in-process tests: on the main leg only (CI's time).
pytestmark = [pytest.mark.subprocess, pytest.mark.main_leg]

FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 5.0}


def watched(sink: Any, **schedules: Any) -> dict[str, Any]:
    """Settings with a webhook channel and ``schedules`` (scheduled_command's left out)."""
    schedules.setdefault("scheduled_command", {"schedule": None})
    return {
        **FAST,
        "MONITORKIT_SCHEDULES": schedules,
        "MONITORKIT_ALERTS": {"webhook": {"url": f"{sink.url}/hook", "retries": 0, "timeout": 2}},
    }


def watch_once(project: Project, settings: dict[str, Any]) -> str:
    result = project.run("monitor_watch", "--once", settings=settings)
    assert result.returncode == 0, result.stderr
    return result.stdout


def alerts_about(sink: Any, command_id: str) -> list[dict[str, Any]]:
    return [r.json() for r in sink.requests if r.json().get("command_id") == command_id]


def test_a_run_shorter_than_its_minimum_is_stored_unmet_and_alerted_once(
    store_project: Project, http_sink
):
    settings = watched(http_sink, ok_command={"min_duration": 30})
    result = store_project.run("ok_command", settings=settings)
    assert result.returncode == 0, result.stderr
    (run,) = store_project.runs("ok_command")
    assert run["status"] == "FINISHED"  # the command did not fail: it did too little
    assert run["unmet"].startswith("ran ") and run["unmet"].endswith("expected at least 30 s")
    # Two watchers at once, then a third: the change is stored and alerted once.
    both = [store_project.popen("monitor_watch", "--once", settings=settings) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    assert sum("NEW -> SUSPECT" in out for out, _ in outputs) == 1, outputs
    assert "SUSPECT" not in watch_once(store_project, settings)
    (alert,) = alerts_about(http_sink, "ok_command")
    assert alert["health"] == "SUSPECT" and alert["previous"] == "NEW"
    assert alert["unmet"] == run["unmet"]
    assert f"Expectation not met: {run['unmet']}" in alert["text"]

    # A run that meets it recovers the command, and the recovery is sent where the problem was.
    settings["MONITORKIT_SCHEDULES"]["ok_command"] = {"min_duration": 0.001}
    assert store_project.run("ok_command", settings=settings).returncode == 0
    assert store_project.runs("ok_command")[-1]["unmet"] is None
    watch_once(store_project, settings)
    assert [a["health"] for a in alerts_about(http_sink, "ok_command")] == ["SUSPECT", "OK"]


def test_a_metadata_check_rows_above_zero_with_no_rows_is_alerted(
    store_project: Project, http_sink
):
    settings = watched(
        http_sink,
        expect_command__rows_0={"check": "rows > 0"},
        expect_command__rows_5={"check": "rows > 0"},
    )
    assert store_project.run("expect_command", "--rows=0", settings=settings).stdout == "0 rows\n"
    assert store_project.run("expect_command", "--rows=5", settings=settings).returncode == 0
    (empty,) = store_project.runs("expect_command__rows_0")
    (full,) = store_project.runs("expect_command__rows_5")
    assert (empty["status"], empty["unmet"]) == ("FINISHED", "rows = 0, expected rows > 0")
    assert (full["status"], full["unmet"]) == ("FINISHED", None)
    watch_once(store_project, settings)
    (alert,) = alerts_about(http_sink, "expect_command__rows_0")
    assert alert["health"] == "SUSPECT" and alert["unmet"] == "rows = 0, expected rows > 0"
    assert alerts_about(http_sink, "expect_command__rows_5") == []


def test_the_class_check_gives_its_reason(project: Project):
    result = project.run("expect_command", "--rows=3", "--check=reason", settings=FAST)
    assert result.returncode == 0, result.stderr
    (run,) = project.runs()
    assert (run["status"], run["unmet"]) == ("FINISHED", "only 3 rows")


@pytest.mark.parametrize("mode", ["raise", "sleep"])
def test_a_check_that_raises_or_hangs_changes_nothing_and_is_bounded(project: Project, mode):
    args = ("expect_command", "--rows=2", f"--check={mode}")
    plain = project.run(*args, settings=FAST, twin="plain")
    started = time.monotonic()
    monitored = project.run(*args, settings=FAST)
    took = time.monotonic() - started
    assert (monitored.returncode, monitored.stdout) == (plain.returncode, plain.stdout)
    assert monitored.returncode == 0 and monitored.stdout == "2 rows\n"
    # The check may take one second (expectations.CHECK_SECONDS), never the minute it sleeps:
    # the start, that second and the write, on a busy machine, stay far below it.
    assert took < 30, took
    (run,) = project.runs()
    assert (run["status"], run["unmet"]) == ("FINISHED", None)  # could not check: not unmet
    assert json.loads(run["metadata"])["rows"] == 2
    words = "raised RuntimeError" if mode == "raise" else "took longer than 1 s"
    assert words in monitored.stderr, monitored.stderr


@pytest.mark.once  # the Firebase transport: on the main leg only, as test_firebase_processes
def test_firebase_stores_the_reason_and_the_watcher_alerts_once(
    project: Project, rtdb_server, http_sink
):
    from tests.test_firebase_processes import firebase, log_of

    settings = firebase(rtdb_server.url, **watched(http_sink, ok_command={"min_duration": 30}))
    assert project.run("ok_command", settings=settings).returncode == 0
    (run,) = log_of(rtdb_server, "ok_command")
    assert run["status"] == "FINISHED" and run["unmet"].endswith("expected at least 30 s")
    watch_once(project, settings)
    watch_once(project, settings)
    (alert,) = alerts_about(http_sink, "ok_command")
    assert alert["health"] == "SUSPECT" and alert["unmet"] == run["unmet"]


def test_a_run_the_page_flags_fast_is_unmet_when_its_command_alerts_on_outliers(
    store_project: Project, http_sink
):
    # What is usual: five finished runs of about 1 s; fast: under half of that (p50 x 0.5), so
    # a run that sleeps 0 s is fast even on a machine so busy that it takes a few 100 ms.
    settings = {**watched(http_sink), "MONITORKIT_FAST_FRACTION": 0.5}
    for _ in range(5):
        result = store_project.run("outlier_command", "--seconds=1", settings=settings)
        assert result.returncode == 0 and result.stdout == "slept\n", result.stderr
    assert [run["unmet"] for run in store_project.runs("outlier")] == [None] * 5
    result = store_project.run("outlier_command", "--seconds=0", settings=settings)
    assert result.returncode == 0 and result.stdout == "slept\n", result.stderr
    fast = store_project.runs("outlier")[-1]
    assert fast["status"] == "FINISHED" and fast["unmet"].startswith("ran ")
    assert "faster than usual (less than p50 1" in fast["unmet"] and "x 0.5)" in fast["unmet"]
    assert "SUSPECT" in watch_once(store_project, settings)
    (alert,) = alerts_about(http_sink, "outlier")
    assert alert["health"] == "SUSPECT" and alert["unmet"] == fast["unmet"]
    # A usual run again recovers it.
    assert store_project.run("outlier_command", "--seconds=1", settings=settings).returncode == 0
    assert store_project.runs("outlier")[-1]["unmet"] is None
    watch_once(store_project, settings)
    assert [a["health"] for a in alerts_about(http_sink, "outlier")] == ["SUSPECT", "OK"]


def test_a_run_the_page_flags_slow_is_unmet_when_its_command_alerts_on_slow_outliers(
    store_project: Project, http_sink
):
    # What is usual: five finished runs that sleep 0 s, started at once (about 0.1 s each);
    # slow: over p95 x 3, so a run that sleeps 1.5 s is slow even if the usual ones took up to
    # 0.5 s on a busy machine. The setting's "slow" replaces the class's "fast" for this id.
    settings = {
        **watched(http_sink, outlier={"outliers": "slow"}),
        "MONITORKIT_SLOW_FACTOR": 3,
    }
    usual = [store_project.popen("outlier_command", settings=settings) for _ in range(5)]
    for process in usual:
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0 and stdout == "slept\n", stderr
    assert [run["unmet"] for run in store_project.runs("outlier")] == [None] * 5
    result = store_project.run("outlier_command", "--seconds=1.5", settings=settings)
    assert result.returncode == 0 and result.stdout == "slept\n", result.stderr
    slow = store_project.runs("outlier")[-1]
    # The stored duration is the run's own: 1.5 s of sleep and whatever a busy machine adds.
    ran = re.match(r"ran (\d+\.\d+) s, ", slow["unmet"])
    assert slow["status"] == "FINISHED" and ran and float(ran.group(1)) >= 1.5, slow["unmet"]
    assert "slower than usual (more than p95 " in slow["unmet"] and "x 3)" in slow["unmet"]
    assert "SUSPECT" in watch_once(store_project, settings)
    (alert,) = alerts_about(http_sink, "outlier")
    assert alert["health"] == "SUSPECT" and alert["unmet"] == slow["unmet"]
    assert "SUSPECT" not in watch_once(store_project, settings)  # alerted once
    assert len(alerts_about(http_sink, "outlier")) == 1
