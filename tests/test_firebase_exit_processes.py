"""A run's outcome is what Firebase keeps once the process has exited, heartbeat in flight or not.

Real ``manage.py`` processes against the local server, heartbeats every 100 ms. The test makes
the race rather than hoping for it: once the run's start is stored it pauses the server, waits
until a heartbeat is held there (in flight), lets the command end, and only then lets the
heartbeat through. The sender delivers a run's records in order on one connection
(``monitorkit/recording/sender.py``, "One lane"), so the outcome is the last write. The server's
latency and jitter (applied after the pause) let requests sent close together on two connections
be applied in either order, so a design that sent the finish beside the heartbeat would lose it
here in about half the rounds.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.process import Project, wait_for, wait_for_line
from tests.test_firebase_processes import KEY, firebase, rest_get

pytestmark = [pytest.mark.subprocess, pytest.mark.once]  # the sender's order: no version in it

ROUNDS = 10


def test_the_outcome_is_stored_last_when_a_heartbeat_is_in_flight(
    project: Project, rtdb_server, tmp_path: Path
):
    rtdb_server.set_latency(0.1, jitter=0.1)
    settings = firebase(
        rtdb_server.url,
        FIREBASE_MONITORING_INTERVAL_PING=0.1,
        MONITORKIT_STALE_AFTER=30,
        MONITORKIT_HTTP_TIMEOUT=10.0,
        MONITORKIT_FLUSH_TIMEOUT=60.0,
        MONITORKIT_DATABASE=False,
    )
    release = tmp_path / "release"
    for seq in range(1, ROUNDS + 1):
        release.unlink(missing_ok=True)
        rtdb_server.clear_requests()
        process = project.popen("barrier_command", f"--release={release}", settings=settings)
        try:
            wait_for_line(process, "ready")
            command_id = wait_for(partial(started_run, rtdb_server, seq))
            rtdb_server.pause()
            wait_for(lambda: rtdb_server.paused_requests >= 1)  # a heartbeat is in flight
            release.touch()
            wait_for_line(process, "released")  # the command has ended...
            assert rtdb_server.paused_requests >= 1  # ...with a heartbeat in flight
        finally:
            rtdb_server.pause(False)
            release.touch()
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        # The process is gone; a request it sent is applied once its connection is closed.
        wait_for(lambda: rtdb_server.open_connections == 0, timeout=30)
        assert [r.status for r in rtdb_server.requests] == [200] * len(rtdb_server.requests)

        log = rest_get(rtdb_server, f"{KEY}/commands/{command_id}/log")
        latest = rest_get(rtdb_server, f"{KEY}/latest/{command_id}")
        stored = log[seq - 1]
        assert stored["seq"] == seq
        assert latest == stored
        assert_is_the_outcome(stored)


def started_run(server: Any, seq: int) -> str | None:
    """The command id once the run numbered ``seq`` is stored as started, else None."""
    commands = rest_get(server, f"{KEY}/commands") or {}
    for command_id, command in commands.items():
        runs = command.get("log") or []
        if len(runs) >= seq and runs[seq - 1].get("status") in ("STARTED", "RUNNING"):
            return str(command_id)
    return None


def assert_is_the_outcome(stored: dict[str, Any]) -> None:
    """The finish as ``_finish`` records it: status, message, exit code and the whole output."""
    assert stored["status"] == "FINISHED"
    assert stored["message"] != "Command running"
    assert stored["finished"] == stored["latest"]
    assert stored["exit_code"] == 0
    assert stored["output"].splitlines()[-2:] == ["ready", "released"]
