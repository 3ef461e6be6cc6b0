"""``manage.py monitor_watch`` as a real process over real runs, with real alert sinks.

Each health is reached by real ``manage.py`` runs; the watcher is run with ``--once`` (as cron
would) or as a loop, alerts go to a real local SMTP server and a real local HTTP server, and two
watchers at once, or a watcher killed mid-cycle, alert exactly once.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import time
from typing import Any

import pytest

from tests.process import Project, wait_for, wait_for_line

# The watcher's judgement and alerts across real processes (the watcher's healths): their subject
# does not change with the Python or Django version, and the legs run the same features' in-
# process tests: on the main leg only (CI's time).
pytestmark = [pytest.mark.subprocess, pytest.mark.main_leg]

FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 1.0}


def watch_settings(
    sink: Any = None, inbox_port: int | None = None, declared: bool = False, **schedules: Any
) -> dict:
    """Settings for a watched project; ``declared``: keep scheduled_command's class schedule."""
    if not declared:
        schedules.setdefault("scheduled_command", {"schedule": None})
    settings: dict[str, Any] = {**FAST, "MONITORKIT_SCHEDULES": schedules}
    alerts: dict[str, Any] = {}
    if sink is not None:
        alerts["webhook"] = {"url": f"{sink.url}/hook", "retries": 0, "timeout": 2}
    if inbox_port is not None:
        alerts["email"] = {"to": ["ops@example.com"], "from": "monitor@example.com"}
        settings.update(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=inbox_port,
        )
    settings["MONITORKIT_ALERTS"] = alerts
    settings["MONITORKIT_BASE_URL"] = "https://ops.example.com/monitor"
    return settings


def transitions(project: Project) -> list[tuple[str, str, str, str]]:
    con = sqlite3.connect(project.db_path, timeout=10)
    try:
        rows = con.execute(
            "SELECT command_id, previous, health, alert FROM monitorkit_healthtransition "
            "ORDER BY command_id, number"
        ).fetchall()
    finally:
        con.close()
    return [tuple(row) for row in rows]


def watch_once(project: Project, settings: dict) -> subprocess.CompletedProcess[str]:
    result = project.run("monitor_watch", "--once", settings=settings)
    assert result.returncode == 0, result.stderr
    return result


def watch_until(project: Project, settings: dict[str, Any], expected: dict[str, str]) -> str:
    """Run watcher cycles until the latest transitions give ``expected``; return their output.

    No fixed wait for time to pass or for a run to reach a state: each cycle judges what the
    store shows now, and the next one comes until the healths are there (or the limit).
    """
    outputs: list[str] = []

    def reached() -> bool:
        outputs.append(watch_once(project, settings).stdout)
        health = {cid: h for cid, _, h, _ in transitions(project)}
        return all(health.get(cid) == h for cid, h in expected.items())

    wait_for(reached, timeout=120, pause=0.2)
    return "".join(outputs)


def test_every_health_is_reached_by_real_runs(project: Project, http_sink):
    settings = watch_settings(
        http_sink,
        declared=True,
        flaky_command={"schedule": 3600, "start_margin": 60},
        sleep_command__seconds_30_0={"max_runtime": 1},
        never_ran={"schedule": 1, "start_margin": 0.5},
        sleep_command__seconds_20_0={"schedule": 3600},
    )
    # A run that beats every 0.2 s is stale after 3 s of silence: a busy machine may delay a
    # beat of the overrunning run by a second, never by three.
    settings["MONITORKIT_STALE_AFTER"] = 3.0
    (project.db_dir / "failing").touch()
    assert project.run("flaky_command", settings=settings).returncode == 1
    overrunning = project.popen("sleep_command", "--seconds=30", settings=settings)
    killed = project.popen("sleep_command", "--seconds=20", settings=settings)
    try:
        wait_for_line(overrunning, "ready")
        wait_for_line(killed, "ready")
        killed_id = "sleep_command__seconds_20_0"
        wait_for(lambda: [r for r in project.runs(killed_id) if r["status"] == "RUNNING"])
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        # Past max_runtime, past the staleness bound; never_ran is first seen by the first
        # cycle, and a later one finds its next start missed.
        expected = {
            "flaky_command": "FAILING",
            "sleep_command__seconds_30_0": "OVERRUNNING",
            "sleep_command__seconds_20_0": "STALE",
            "never_ran": "MISSED",
            "scheduled_command": "MISSED",
        }
        out = watch_until(project, settings, expected)
    finally:
        overrunning.kill()
        overrunning.wait(timeout=30)
    health = {cid: h for cid, _, h, _ in transitions(project)}
    assert health["flaky_command"] == "FAILING"
    assert health["sleep_command__seconds_30_0"] == "OVERRUNNING"
    assert health["sleep_command__seconds_20_0"] == "STALE"
    assert health["never_ran"] == "MISSED"  # declared in MONITORKIT_SCHEDULES
    assert health["scheduled_command"] == "MISSED"  # declared on the class, never run
    # From NEW, or from LATE when a cycle came within its half-second margin.
    assert re.search(r"never_ran  (NEW|LATE) -> MISSED", out), out
    missed = project.runs("never_ran")  # one, or one more for each start missed meanwhile
    assert missed and {r["status"] for r in missed} == {"MISSED"}
    assert len({r["started"] for r in missed}) == len(missed)

    (project.db_dir / "failing").unlink()
    assert project.run("flaky_command", settings=settings).returncode == 0
    watch_once(project, settings)
    flaky = [t for t in transitions(project) if t[0] == "flaky_command"]
    assert [(p, h, a) for _, p, h, a in flaky] == [
        ("NEW", "FAILING", "sent"),
        ("FAILING", "OK", "sent"),
    ]
    texts = [r.json()["text"] for r in http_sink.requests]
    assert any("flaky_command" in t and "FAILING" in t for t in texts)
    assert any("flaky_command" in t and "OK" in t for t in texts)


def test_a_failure_is_mailed_and_posted_once_with_what_a_person_needs(
    project: Project, http_sink, smtp_server
):
    settings = watch_settings(http_sink, inbox_port=_smtp_port(smtp_server))
    (project.db_dir / "failing").touch()
    assert project.run("flaky_command", settings=settings).returncode == 1
    watch_once(project, settings)
    watch_once(project, settings)  # nothing changed: nothing is sent again

    (request,) = http_sink.requests
    body = request.json()
    assert body["command_id"] == "flaky_command" and body["health"] == "FAILING"
    assert "the upstream feed is down" in body["text"]
    assert "RuntimeError" in body["traceback_tail"]
    # The failed run's own page (its traceback open there).
    assert re.fullmatch(
        r"https://ops\.example\.com/monitor/commands/flaky_command/runs/[0-9a-f]{32}/", body["url"]
    )
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["ops@example.com"]
    assert b"flaky_command" in envelope.content and b"the upstream feed is down" in envelope.content


def test_two_watchers_at_once_alert_once(project: Project, http_sink):
    settings = watch_settings(http_sink)
    (project.db_dir / "failing").touch()
    assert project.run("flaky_command", settings=settings).returncode == 1
    watchers = [project.popen("monitor_watch", "--once", settings=settings) for _ in range(3)]
    for watcher in watchers:
        watcher.communicate(timeout=60)
        assert watcher.returncode == 0
    assert [t[1:] for t in transitions(project)] == [("NEW", "FAILING", "sent")]
    assert len(http_sink.requests) == 1


def test_a_watcher_killed_while_alerting_loses_and_repeats_nothing(project: Project, http_sink):
    settings = watch_settings(http_sink)
    settings["MONITORKIT_ALERT_LEASE"] = 1.0
    (project.db_dir / "failing").touch()
    assert project.run("flaky_command", settings=settings).returncode == 1
    http_sink.respond("hang")  # the first alert never gets its answer...
    watcher = project.popen("monitor_watch", "--once", settings=settings)
    wait_for(lambda: http_sink.requests)
    watcher.kill()  # ...and its watcher dies waiting for it, alert claimed, not settled
    watcher.wait(timeout=30)
    assert [t[3] for t in transitions(project)] == ["sending"]

    # Cycles until the dead watcher's claim (1 s) runs out and one sends the alert; then one
    # more, which must send nothing.
    wait_for(
        lambda: watch_once(project, settings) and transitions(project)[0][3] == "sent",
        timeout=120,
        pause=0.2,
    )
    watch_once(project, settings)
    assert [t[1:] for t in transitions(project)] == [("NEW", "FAILING", "sent")]
    answered = http_sink.requests[1:]  # the first one was never answered: not delivered
    assert len(answered) == 1


def test_the_watcher_loop_ends_on_sigterm(project: Project):
    process = project.popen("monitor_watch", "--interval=0.2", settings=FAST)
    wait_for_line(process, "checked")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 0


def _smtp_port(inbox: Any) -> int:
    from django.conf import settings

    return int(settings.EMAIL_PORT)


def test_the_watcher_over_firebase_alerts_once_and_stores_the_miss(
    project: Project, http_sink, rtdb_server
):
    """The same watcher against the local Realtime Database server, two watchers at once."""
    from tests.test_firebase_processes import KEY, firebase, log_of, rest_get

    settings = {
        **firebase(rtdb_server.url),
        **watch_settings(http_sink, never_ran={"schedule": 1, "start_margin": 0.5}),
    }
    (project.db_dir / "failing").touch()
    assert project.run("flaky_command", settings=settings).returncode == 1
    watch_once(project, settings)  # first sight of never_ran; flaky_command is FAILING
    # Time passes for a judgement (never_ran's every-second start and half-second margin);
    # the first cycle has ended, so no process state is assumed. A busy machine only adds.
    time.sleep(1.6)
    watchers = [project.popen("monitor_watch", "--once", settings=settings) for _ in range(2)]
    for watcher in watchers:
        watcher.communicate(timeout=60)
        assert watcher.returncode == 0

    health = rest_get(rtdb_server, f"{KEY}/health")
    assert health["flaky_command"]["health"] == "FAILING"
    assert health["never_ran"]["health"] == "MISSED"
    # Each missed start is stored once, whichever watcher saw it; a watcher that a busy machine
    # starts a second later may find the next every-second start missed too.
    # Kept beside the ring of runs, never in it (issue 18, item 5).
    missed = list((rest_get(rtdb_server, f"{KEY}/commands/never_ran/missed") or {}).values())
    assert missed and {r["status"] for r in missed} == {"MISSED"}
    assert log_of(rtdb_server, "never_ran") == []
    assert len({r["started"] for r in missed}) == len(missed)
    alerted = sorted(r.json()["command_id"] + ":" + r.json()["health"] for r in http_sink.requests)
    assert alerted == ["flaky_command:FAILING", "never_ran:MISSED"]
    assert project.runs() == []  # nothing went to the database: Firebase is the store
