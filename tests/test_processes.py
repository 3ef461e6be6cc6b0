"""Real ``manage.py`` processes: exit codes, output, signals, kills, concurrency.

Each behaviour is checked against the very same command run as a plain ``BaseCommand`` (its
"twin"): monitoring must not change what the command does.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time

import pytest

from tests.process import (
    SIGNALS,
    Project,
    signal_traceback,
    strip_monitorkit_frames,
    wait_for,
    wait_for_line,
)

pytestmark = pytest.mark.subprocess

FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 1.0}

OUTCOMES = [
    # args, status, exit code, message, exception type
    (["ok_command", "--label=x"], "FINISHED", 0, "Command finished", None),
    (["fail_command"], "FAILED", 1, "boom: the input is bad", "builtins.ValueError"),
    (
        ["fail_command", "--kind=command_error"],
        "FAILED",
        4,
        "the import source is unreachable",
        "django.core.management.base.CommandError",
    ),
    (["fail_command", "--kind=exit0"], "FINISHED", 0, None, None),
    (["fail_command", "--kind=exit_none"], "FINISHED", 0, None, None),
    (["fail_command", "--kind=exit3"], "FAILED", 3, "Exited with status 3", "builtins.SystemExit"),
    (["fail_command", "--kind=exit_text"], "FAILED", 1, "fatal: giving up", "builtins.SystemExit"),
]


@pytest.mark.parametrize("args,status,code,message,exception_type", OUTCOMES)
def test_outcome_is_recorded_and_the_process_is_unchanged(
    project: Project, args, status, code, message, exception_type
):
    plain = project.run(*args, twin="plain")
    monitored = project.run(*args)

    assert monitored.returncode == plain.returncode == code
    assert monitored.stdout == plain.stdout
    assert strip_monitorkit_frames(monitored.stderr) == plain.stderr

    (run,) = project.runs()
    assert run["status"] == status
    assert run["exit_code"] == code
    assert run["exception_type"] == exception_type
    assert run["finished"] is not None
    if message:
        assert run["message"] == message
    assert run["message"]  # always something a person can read
    if status == "FAILED" and exception_type != "builtins.SystemExit":
        assert exception_type.rsplit(".", 1)[1] in run["traceback"]
        assert "_monitored_call" not in run["traceback"]


def test_ids_and_params_come_from_the_command_line(project: Project):
    project.run("ok_command", "--label=x", "--count=2", "--verbosity=2")
    project.run("ok_command")
    first, second = project.runs()
    assert first["command_id"] == "ok_command__verbosity_2__label_x__count_2"
    assert first["name"] == "ok_command"
    assert first["params"] == "verbosity=2,label=x,count=2"
    assert second["command_id"] == "ok_command"
    assert second["params"] == ""


def test_secret_option_values_never_reach_the_store(project: Project):
    secret = "sk_live_51HvERYsecretVALUE"
    project.run("ok_command", f"--api_key={secret}")
    project.run("fail_command", "--kind=secret", f"--token={secret}")
    dump = "\n".join(str(run) for run in project.runs())
    assert secret not in dump
    ok, failed = project.runs()
    assert ok["command_id"] == "ok_command"
    assert ok["params"] == "api_key=********"
    assert failed["message"] == "login failed with token ********"


def test_heartbeat_marks_running_and_ships_progress(project: Project):
    process = project.popen("sleep_command", "--seconds=3", "--steps=30", settings=FAST)
    wait_for_line(process, "ready")
    running = wait_for(
        lambda: [r for r in project.runs() if r["status"] == "RUNNING" and r["progress"]]
    )
    assert '"total": 30' in running[0]["progress"]
    assert process.wait(timeout=30) == 0
    (run,) = project.runs()
    assert run["status"] == "FINISHED"
    assert run["progress"] == '{"done": 30, "total": 30}'
    assert run["latest"] >= run["started"]


def test_exit_is_not_delayed_by_the_heartbeat_interval(project: Project):
    started = time.monotonic()
    result = project.run("ok_command", settings={"FIREBASE_MONITORING_INTERVAL_PING": 120})
    elapsed = time.monotonic() - started
    assert result.returncode == 0
    # django-command-monitor waited for its whole interval; 120 s would stop this test cold.
    assert elapsed < 60


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_kill_signal_is_recorded_and_still_ends_the_process(project: Project, name: str):
    signum = SIGNALS[name]
    outcomes = {}
    for twin in ("plain", ""):
        process = project.popen("sleep_command", "--seconds=60", settings=FAST, twin=twin)
        wait_for_line(process, "ready")
        if not twin:
            wait_for(lambda: [r for r in project.runs() if r["status"] == "RUNNING"])
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
        outcomes[twin or "monitored"] = (process.returncode, stdout, stderr)

    plain, monitored = outcomes["plain"], outcomes["monitored"]
    assert monitored[0] == plain[0] == -signum  # ended by the signal itself
    assert monitored[1] == plain[1]
    frames = [
        signal_traceback(strip_monitorkit_frames(out[2]), "sleep_command.py")
        for out in outcomes.values()
    ]
    assert frames[0] == frames[1]
    (run,) = project.runs()
    assert run["status"] == "SYSTEM_KILL"
    assert run["message"] == f"Killed by {name}"
    assert run["exit_code"] == 128 + signum
    assert run["finished"] is not None


@pytest.mark.parametrize("where", ["before", "inside"])
def test_user_signal_handler_still_runs(project: Project, where: str):
    outcomes = []
    for twin in ("plain", ""):
        process = project.popen(
            "sleep_command", "--seconds=60", f"--user_handler={where}", settings=FAST, twin=twin
        )
        wait_for_line(process, "ready")
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=30)
        outcomes.append((process.returncode, stdout))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][0] == 7
    assert "user handler ran" in outcomes[1][1]
    (run,) = project.runs()
    assert run["exit_code"] == 7
    if where == "before":
        # Ours stood in front of the user's handler: the kill is recorded, then theirs ran.
        assert run["status"] == "SYSTEM_KILL"
        assert run["message"] == "Killed by SIGTERM"
    else:
        # The command replaced our handler itself: its own exit is the outcome.
        assert run["status"] == "FAILED"
        assert run["message"] == "Exited with status 7"


def stale_flags(project: Project, command_id: str) -> dict[int, tuple[str, bool]]:
    """Return each kept run's (stored status, stale) as ``monitor_status --json`` prints it."""
    result = project.run("monitor_status", "--command", command_id, "--json", settings=FAST)
    assert result.returncode == 0, result.stderr
    return {run["seq"]: (run["status"], run["stale"]) for run in json.loads(result.stdout)}


def test_a_sigkilled_run_stays_running_and_is_shown_stale(project: Project):
    """Nobody can record SIGKILL: the store keeps RUNNING, the readers say STALE."""
    killed = project.popen("sleep_command", "--seconds=60", settings=FAST)
    wait_for_line(killed, "ready")
    wait_for(lambda: [r for r in project.runs() if r["status"] == "RUNNING"])
    killed.kill()
    killed.wait(timeout=30)
    command_id = project.runs()[0]["command_id"]
    # No fixed wait: ask until MONITORKIT_STALE_AFTER has passed since its last heartbeat.
    wait_for(lambda: stale_flags(project, command_id) == {1: ("RUNNING", True)}, timeout=60)
    overview = project.run("monitor_status", "--json", settings=FAST)
    (row,) = [r for r in json.loads(overview.stdout) if r["id"] == command_id]
    assert (row["health"], row["status"], row["stale"]) == ("STALE", "RUNNING", True)

    successor = project.popen("sleep_command", "--seconds=60", settings=FAST)
    try:
        wait_for_line(successor, "ready")
        wait_for(lambda: len(project.runs()) == 2, timeout=60)
        first, second = project.runs()
        assert (first["status"], first["message"]) == ("RUNNING", "Command running")
        assert first["finished"] is None and first["exit_code"] is None
        assert second["seq"] == first["seq"] + 1
        assert stale_flags(project, command_id)[1] == ("RUNNING", True)
    finally:
        successor.kill()
        successor.wait(timeout=30)


def test_a_live_run_whose_heartbeat_is_late_is_never_stored_killed(project: Project, tmp_path):
    """A run that only beats late (a busy machine) is left alone by a new run of its command.

    Its heartbeat comes every 60 s and it is stale after 0.2 s: when the second run starts,
    the first is alive but silent. The writers store and never judge, so it stays unfinished
    until its own finish, and both end FINISHED.
    """
    late = {"FIREBASE_MONITORING_INTERVAL_PING": 60, "MONITORKIT_STALE_AFTER": 0.2}
    release = tmp_path / "release"
    args = ("barrier_command", f"--release={release}")
    first = project.popen(*args, settings=late)
    second = None
    try:
        wait_for_line(first, "ready")
        (alive,) = wait_for(project.runs, timeout=60)
        command_id = alive["command_id"]
        # Time passes for a judgement (past the 0.2 s bound); the state is read from the store.
        wait_for(lambda: stale_flags(project, command_id) == {1: ("STARTED", True)}, timeout=60)
        second = project.popen(*args, settings=late)
        wait_for_line(second, "ready")
        wait_for(lambda: len(project.runs()) == 2, timeout=60)
        assert [r["status"] for r in project.runs()] == ["STARTED", "STARTED"]
        release.touch()
        assert first.wait(timeout=60) == 0 and second.wait(timeout=60) == 0
    finally:
        release.touch()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    assert [(r["seq"], r["status"]) for r in project.runs()] == [(1, "FINISHED"), (2, "FINISHED")]


def test_concurrent_live_runs_are_two_records_and_never_marked_killed(project: Project):
    processes = [project.popen("sleep_command", "--seconds=2", settings=FAST) for _ in range(3)]
    for process in processes:
        assert process.wait(timeout=60) == 0
    runs = project.runs()
    assert len(runs) == 3
    assert {r["status"] for r in runs} == {"FINISHED"}
    assert sorted(r["seq"] for r in runs) == [1, 2, 3]
    assert len({r["run_id"] for r in runs}) == 3


@pytest.mark.parametrize("rollback", [False, True])
def test_transaction_of_the_command_does_not_hold_or_undo_the_record(
    project: Project, rollback: bool
):
    args = ["atomic_command", "--hold=1.0"] + (["--rollback"] if rollback else [])
    plain = project.run(*args, settings=FAST, twin="plain")
    monitored = project.run(*args, settings=FAST)
    assert monitored.returncode == plain.returncode == 0
    assert monitored.stdout == plain.stdout
    assert "locked" not in monitored.stderr
    assert ("items: 0" if rollback else "items: 2") in monitored.stdout
    (run,) = project.runs()
    assert run["status"] == "FINISHED"


def test_a_locked_database_costs_at_most_the_flush_bound(project: Project):
    lock = sqlite3.connect(project.db_path, timeout=1)
    lock.execute("BEGIN EXCLUSIVE")  # another process holds the database for the whole run
    try:
        started = time.monotonic()
        result = project.run("ok_command", settings={"MONITORKIT_FLUSH_TIMEOUT": 1.0})
        elapsed = time.monotonic() - started
    finally:
        lock.rollback()
        lock.close()
    plain = project.run("ok_command", twin="plain")
    assert result.returncode == 0
    assert result.stdout == plain.stdout
    assert "stopped waiting after 1.0 s" in result.stderr
    assert "kept in the spool" in result.stderr
    assert elapsed < 30  # bounded: no hang (the bound itself is measured in benchmarks/)
    assert project.runs() == []  # nothing could be written while the lock was held...

    # ...and the next run, with the database free again, delivers the first one from the spool.
    assert project.run("ok_command", "--label=next").returncode == 0
    runs = project.runs()
    assert [r["status"] for r in runs] == ["FINISHED", "FINISHED"]
    assert [r["command_id"] for r in runs] == ["ok_command", "ok_command__label_next"]
    assert not list((project.db_dir / "spool").glob("*.json"))


def test_disable_monitor_option_records_nothing(project: Project):
    result = project.run("ok_command", "--disable_monitor")
    assert result.returncode == 0
    assert result.stdout == project.run("ok_command", twin="plain").stdout
    assert project.runs() == []


@pytest.mark.parametrize(
    "settings", [{"TESTING": True}, {"FIREBASE_MONITORING_RUN": False}], ids=["TESTING", "RUN"]
)
def test_project_switches_record_nothing(project: Project, settings):
    result = project.run("ok_command", settings=settings)
    assert result.returncode == 0
    assert project.runs() == []
