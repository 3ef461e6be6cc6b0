"""The database store under real ``manage.py`` processes, on SQLite and on PostgreSQL.

Nested commands, forked children, many runs ending at once, a transaction held across
heartbeats, odd text, a kill inside a transaction: each is compared with the command's
unmonitored twin, and runs under a timeout so that a hang fails the test instead of the suite.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.process import Project, wait_for, wait_for_line

pytestmark = pytest.mark.subprocess

FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 1.0}
HANG = 60  # seconds: far beyond what any of these commands takes; reached only by a hang


def spool(project: Project) -> dict[str, Any]:
    """Settings that keep this test's spool to itself."""
    return {"MONITORKIT_SPOOL_DIR": str(project.db_dir / "spool")}


def assert_same_as_twin(project: Project, *args: str, settings: dict[str, Any]) -> None:
    plain = project.run(*args, settings=settings, twin="plain", timeout=HANG)
    monitored = project.run(*args, settings=settings, timeout=HANG)
    assert (monitored.returncode, monitored.stdout) == (plain.returncode, plain.stdout), (
        monitored.stderr
    )
    assert plain.returncode == 0, plain.stderr
    assert "Traceback" not in monitored.stderr, monitored.stderr


def test_nested_monitored_commands_both_finish(store_project: Project):
    assert_same_as_twin(store_project, "query_command", "--nested", settings=spool(store_project))
    runs = store_project.runs()
    assert sorted(r["command_id"] for r in runs) == [
        "query_command__label_inner",
        "query_command__nested_True",
    ]
    assert {r["status"] for r in runs} == {"FINISHED"}


def test_forked_children_that_query_and_run_monitored_commands_finish(store_project: Project):
    # Heartbeats every 20 ms keep the parent's sender writing: the forks land during writes.
    settings = {"FIREBASE_MONITORING_INTERVAL_PING": 0.02, **spool(store_project)}
    assert_same_as_twin(store_project, "query_command", "--children=12", settings=settings)
    runs = store_project.runs()
    assert len(runs) == 13
    assert {r["status"] for r in runs} == {"FINISHED"}


@pytest.mark.once
def test_thirty_runs_ending_at_once_keep_thirty_records(store_project: Project, tmp_path: Path):
    release = tmp_path / "release"
    # Thirty final writes at once to one store: on a busy machine they need more than 3 s.
    settings = {**spool(store_project), "MONITORKIT_FLUSH_TIMEOUT": 30.0}
    processes = [
        store_project.popen("barrier_command", f"--release={release}", settings=settings)
        for _ in range(30)
    ]
    try:
        for process in processes:
            wait_for_line(process, "ready", timeout=HANG)
        release.touch()
        for process in processes:
            _, stderr = process.communicate(timeout=HANG)
            assert process.returncode == 0, stderr
            assert "monitorkit" not in stderr, stderr
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    runs = store_project.runs()
    assert len(runs) == 30
    assert {r["status"] for r in runs} == {"FINISHED"}
    assert sorted(r["seq"] for r in runs) == list(range(1, 31))


@pytest.mark.postgres
@pytest.mark.parametrize("rollback", [False, True])
def test_transaction_across_heartbeats_on_postgresql(pg_project: Project, rollback: bool):
    args = ["atomic_command", "--hold=1.0"] + (["--rollback"] if rollback else [])
    assert_same_as_twin(pg_project, *args, settings={**FAST, **spool(pg_project)})
    (run,) = pg_project.runs()
    assert run["status"] == "FINISHED"


@pytest.mark.postgres
def test_nul_character_and_long_exception_type_on_postgresql(pg_project: Project):
    settings = spool(pg_project)
    plain = pg_project.run("odd_failure_command", settings=settings, twin="plain", timeout=HANG)
    monitored = pg_project.run("odd_failure_command", settings=settings, timeout=HANG)
    assert monitored.returncode == plain.returncode == 1
    assert monitored.stdout == plain.stdout
    (run,) = pg_project.runs()
    assert run["status"] == "FAILED"
    assert "\x00" not in run["message"] and "NUL" in run["message"]
    assert 0 < len(run["exception_type"]) <= 255
    assert run["exception_type"].startswith("tests.testapp.management.commands.")


@pytest.mark.parametrize("inside", ["atomic", "query"])
def test_sigterm_inside_a_transaction_or_query_exits_at_once_and_keeps_the_kill(
    project: Project, inside: str
):
    """SQLite: the interrupted command holds what the sender needs, so the kill is spooled."""
    settings = {**spool(project), "MONITORKIT_FLUSH_TIMEOUT": 30.0}
    args = ("slow_command", f"--inside={inside}", "--seconds=600")
    exits = {}
    for twin in ("plain", ""):
        process = project.popen(*args, settings=settings, twin=twin)
        wait_for_line(process, "ready")  # inside the transaction, or among the slow queries
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=HANG)
        exits[twin or "monitored"] = (process.returncode, stdout, time.monotonic() - signalled)

    assert exits["monitored"][:2] == exits["plain"][:2] == (-signal.SIGTERM, "")  # after "ready"
    # The old code waited out the whole flush bound (30 s here) for a write that could not
    # happen. A slow query is only interrupted at its end (about 0.2 s), monitored or not; the
    # margin is generous, for a busy machine.
    assert exits["monitored"][2] < exits["plain"][2] + 10
    # The next monitored run delivers the spooled kill.
    assert project.run("ok_command", settings=settings, timeout=HANG).returncode == 0
    (killed,) = [run for run in project.runs() if run["name"] == "slow_command"]
    assert killed["status"] == "SYSTEM_KILL"
    assert killed["message"] == "Killed by SIGTERM"


@pytest.mark.postgres
def test_postgresql_stopped_during_a_run_the_next_run_delivers_it(
    pg_project: Project, postgres: Any
):
    settings = {**FAST, **spool(pg_project)}
    args = ("sleep_command", "--seconds=2", "--steps=4")
    twin = pg_project.popen(*args, settings=settings, twin="plain")
    wait_for_line(twin, "ready")
    expected = twin.communicate(timeout=HANG)
    process = pg_project.popen(*args, settings=settings)
    try:
        wait_for_line(process, "ready")
        wait_for(lambda: [r for r in pg_project.runs() if r["status"] == "RUNNING"])
        postgres.stop("fast")  # heartbeats and the finish now fail: they go to the spool
        stdout, stderr = process.communicate(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
        postgres.start()
    assert (process.returncode, stdout) == (twin.returncode, expected[0]) == (0, "done\n")
    assert "spool" in stderr
    (run,) = pg_project.runs()
    assert run["status"] == "RUNNING"  # what was stored before the server went away

    assert pg_project.run("ok_command", settings=settings, timeout=HANG).returncode == 0
    runs = {r["name"]: r for r in pg_project.runs()}
    assert len(runs) == 2
    assert runs["sleep_command"]["status"] == "FINISHED"
    assert runs["sleep_command"]["progress"] == {"done": 4, "total": 4}
