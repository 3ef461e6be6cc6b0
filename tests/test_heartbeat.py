"""The heartbeat thread spaces its beats out when heartbeat writes are slow."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from monitorkit.recording.heartbeat import Heartbeat
from monitorkit.recording.sender import BEAT_PACE


class FakeRun:
    """What a heartbeat needs of a run: the cost of the last beat's write, the stale bound."""

    def __init__(self, cost: float, stale_after: float) -> None:
        self.cost = cost
        self.settings = SimpleNamespace(stale_after=stale_after)
        self.record = SimpleNamespace(id="cmd")
        self.beats = 0
        self.beaten = threading.Event()

    def beat_cost(self) -> float:
        return self.cost

    def beat(self) -> None:
        self.beats += 1
        self.beaten.set()


@pytest.mark.parametrize(
    ("interval", "cost", "stale_after", "pause"),
    [
        (30.0, 0.005, 90.0, 30.0),  # a quick store: the interval, as configured
        (0.02, 0.0, 90.0, 0.02),  # nothing measured yet
        (0.02, 0.01, 90.0, BEAT_PACE * 0.01),  # slow writes: beats at most a tenth of the time
        (0.2, 0.5, 1.0, 0.25),  # but never past a quarter of the stale bound
        (0.5, 0.5, 1.0, 0.5),  # and never more often than the interval
    ],
)
def test_the_pause_between_beats(interval, cost, stale_after, pause):
    heartbeat = Heartbeat(FakeRun(cost, stale_after), interval)  # type: ignore[arg-type]
    assert heartbeat.pause() == pytest.approx(pause)


def test_a_slow_store_makes_the_beats_fewer():
    run = FakeRun(cost=0.0, stale_after=90.0)
    heartbeat = Heartbeat(run, 0.001).start()  # type: ignore[arg-type]
    try:
        assert run.beaten.wait(10)
        run.cost = 1.0  # from now on each beat waits BEAT_PACE seconds
        beats = run.beats
        stopped = threading.Event()
        stopped.wait(0.3)
        assert run.beats - beats <= 1
    finally:
        heartbeat.stop()
