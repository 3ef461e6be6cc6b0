"""Real ``manage.py`` processes: the run ends with the process, and no signal loses its record.

Each case is compared with the very same command run as a plain ``BaseCommand`` (its twin).
The process's own exit code, output and time to exit after a signal must not change; the run
must be stored exactly once, right away or, when the store could not take it in time, by the
next run from the spool.
"""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest

from tests.process import Project, strip_monitorkit_frames, wait_for, wait_for_line

pytestmark = pytest.mark.subprocess

FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 1.0}


@pytest.mark.parametrize("kind", ["int", "dict", "bytes"])
def test_what_execute_does_after_handle_belongs_to_the_run(project: Project, kind: str):
    plain = project.run("return_command", f"--kind={kind}", twin="plain")
    monitored = project.run("return_command", f"--kind={kind}")

    assert monitored.returncode == plain.returncode == 1  # Django's execute cannot write it
    assert monitored.stdout == plain.stdout
    assert strip_monitorkit_frames(monitored.stderr) == plain.stderr
    (run,) = project.runs()
    assert run["status"] == "FAILED"
    assert run["exit_code"] == 1
    assert run["exception_type"] in ("builtins.AttributeError", "builtins.TypeError")
    assert "_monitored" not in run["traceback"]


def test_a_returned_text_is_still_written_and_the_run_finishes(project: Project):
    plain = project.run("return_command", "--kind=text", twin="plain")
    monitored = project.run("return_command", "--kind=text")
    assert monitored.returncode == plain.returncode == 0
    assert monitored.stdout == plain.stdout == "handled\nfine\n"
    (run,) = project.runs()
    assert (run["status"], run["exit_code"]) == ("FINISHED", 0)


def _exit_after_signal(process, signum: int) -> tuple[float, int, str]:
    sent = time.monotonic()
    process.send_signal(signum)
    stdout, _ = process.communicate(timeout=90)
    return time.monotonic() - sent, process.returncode, stdout


def test_sigterm_inside_an_open_transaction_exits_at_once_and_keeps_the_kill(project: Project):
    """The command holds a SQLite transaction open: the kill record cannot be written now.

    Before, the handler waited the whole flush bound for a write that could not happen (the
    interrupted command held the transaction) and then lost the record.
    """
    settings = {**FAST, "MONITORKIT_FLUSH_TIMEOUT": 30.0}
    outcomes = {}
    for twin in ("plain", ""):
        process = project.popen("atomic_command", "--hold=120", settings=settings, twin=twin)
        wait_for_line(process, "holding")  # inside atomic(), the first row written
        outcomes[twin or "monitored"] = _exit_after_signal(process, signal.SIGTERM)

    (plain_took, plain_code, plain_out) = outcomes["plain"]
    (took, code, out) = outcomes["monitored"]
    assert code == plain_code == -signal.SIGTERM
    assert out == plain_out
    # The twin exits in milliseconds; the flush bound is 30 s. Waiting it out would show here
    # (a generous margin: a busy machine slows both exits).
    assert took < plain_took + 10

    assert project.run("ok_command").returncode == 0  # the next run delivers the spool
    killed = [r for r in project.runs() if r["name"] == "atomic_command"]
    assert [r["status"] for r in killed] == ["SYSTEM_KILL"]
    assert killed[0]["message"] == "Killed by SIGTERM"


def test_sigterm_during_the_final_flush_keeps_the_final_record(project: Project):
    """The store is locked by another process, so the final flush waits; SIGTERM comes then."""
    lock = sqlite3.connect(project.db_path, timeout=1)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        process = project.popen("flush_command", settings={"MONITORKIT_FLUSH_TIMEOUT": 60.0})
        wait_for_line(process, "outcome recorded")  # FINISHED is recorded; the flush waits
        took, code, _ = _exit_after_signal(process, signal.SIGTERM)
    finally:
        lock.rollback()
        lock.close()
    assert code == -signal.SIGTERM
    assert took < 30  # not the 60 s bound: the signal ends the wait
    assert project.runs() == []

    assert project.run("ok_command", "--label=next").returncode == 0
    first = [r for r in project.runs() if r["command_id"] == "flush_command"]
    assert [(r["status"], r["exit_code"]) for r in first] == [("FINISHED", 0)]


def test_a_second_ctrl_c_during_a_slow_flush_ends_the_wait(project: Project, rtdb_server_factory):
    """Ctrl-C twice while the backend hangs: within the bound in all, one record in the end."""
    from tests.test_firebase_processes import firebase, log_of

    server = rtdb_server_factory()
    # No heartbeat during the test: the one request the hang can hold is the kill's record.
    settings = firebase(
        server.url, MONITORKIT_FLUSH_TIMEOUT=30.0, FIREBASE_MONITORING_INTERVAL_PING=600
    )
    process = project.popen("sleep_command", "--seconds=600", settings=settings)
    wait_for_line(process, "ready")
    wait_for(lambda: log_of(server, "sleep_command__seconds_600_0"))
    server.hang(True)
    try:
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        wait_for(lambda: server.held_requests)  # the first Ctrl-C's flush is waiting
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=90)
        took = time.monotonic() - sent
    finally:
        server.hang(False)
    assert process.returncode == -signal.SIGINT  # as the twin on the first Ctrl-C
    assert "KeyboardInterrupt" in stderr
    assert took < 15  # the second Ctrl-C ends the wait: not the 30 s bound (nor 30 s each)

    assert project.run("ok_command", settings=settings).returncode == 0  # delivers the spool
    runs = log_of(server, "sleep_command__seconds_600_0")
    assert len(runs) == 1
    assert runs[0]["status"] == "SYSTEM_KILL"
    assert runs[0]["message"] == "Killed by SIGINT"
