"""A run's outcome is what Firebase keeps once the process has exited, heartbeat in flight or not.

Real ``manage.py`` processes against the local server with a round trip of 100 ms and heartbeats
every 100 ms: the sender is busy with a heartbeat nearly all the time, so the finish is made
while one is in flight. The sender delivers a run's records in order on one connection
(``monitorkit/recording/sender.py``, "One lane"), so the outcome is the last write. The server's
jitter lets requests sent close together on two connections be applied in either order, so a design
that sent the finish beside the heartbeat would lose it here now and then.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.process import Project, wait_for
from tests.test_firebase_processes import KEY, firebase, rest_get

pytestmark = [pytest.mark.subprocess, pytest.mark.once]  # the sender's order: no version in it

ROUNDS = 10
STEPS = 6
COMMAND_ID = "sleep_command__seconds_0_6__steps_6"


def test_the_outcome_is_stored_last_when_a_heartbeat_is_in_flight(project: Project, rtdb_server):
    rtdb_server.set_latency(0.1, jitter=0.1)
    settings = firebase(
        rtdb_server.url,
        FIREBASE_MONITORING_INTERVAL_PING=0.1,
        MONITORKIT_STALE_AFTER=30,
        MONITORKIT_HTTP_TIMEOUT=5.0,
        MONITORKIT_DATABASE=False,
    )
    beating = 0  # rounds in which heartbeats went out (the start's PATCH, then more)
    for round_number in range(ROUNDS):
        rtdb_server.clear_requests()
        done = project.run("sleep_command", "--seconds=0.6", f"--steps={STEPS}", settings=settings)
        assert done.returncode == 0, done.stderr
        # The process is gone; a request it sent is applied once its connection is closed.
        wait_for(lambda: rtdb_server.open_connections == 0, timeout=30)
        beating += len([r for r in rtdb_server.requests if r.method == "PATCH"]) > 2
        assert [r.status for r in rtdb_server.requests] == [200] * len(rtdb_server.requests)

        log = rest_get(rtdb_server, f"{KEY}/commands/{COMMAND_ID}/log")
        latest = rest_get(rtdb_server, f"{KEY}/latest/{COMMAND_ID}")
        stored = log[round_number]
        assert stored["seq"] == round_number + 1
        assert latest == stored
        assert_is_the_outcome(stored)
    assert beating >= ROUNDS // 2, "the test is about heartbeats in flight: were there any?"


def assert_is_the_outcome(stored: dict[str, Any]) -> None:
    """The finish as ``_finish`` records it: status, message, final progress and output."""
    assert stored["status"] == "FINISHED"
    assert stored["message"] != "Command running"
    assert stored["finished"] == stored["latest"]
    assert stored["exit_code"] == 0
    assert stored["progress"] == {"done": STEPS, "total": STEPS}
    assert stored["output"].splitlines()[-2:] == ["ready", "done"]
