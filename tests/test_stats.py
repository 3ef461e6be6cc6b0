"""``monitorkit.web.stats``: percentiles, the slow and fast flags and the ETA, on known data."""

from __future__ import annotations

import datetime as dt

import pytest

from monitorkit.record import RunRecord, Status
from monitorkit.web.stats import Durations, durations, eta, flags, percentile, progress_percent

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def run(seconds: float, status: Status = Status.FINISHED, n: int = 0) -> RunRecord:
    end = T0 + dt.timedelta(seconds=seconds)
    return RunRecord(
        id="cmd",
        name="cmd",
        params="",
        run_id=f"r{n}",
        host="h",
        pid=1,
        started=T0,
        status=status,
        latest=end,
        finished=None if status in (Status.STARTED, Status.RUNNING) else end,
    )


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4, 5], 50, 3),
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 95, 95.5),
        (list(range(1, 21)), 95, 19.05),
        ([7], 95, 7),
        ([], 50, None),
        ([3, 1, 2], 0, 1),
        ([3, 1, 2], 100, 3),
    ],
)
def test_percentile_interpolates_linearly(values, q, expected):
    found = percentile(values, q)
    assert found == pytest.approx(expected) if expected is not None else found is None


def test_durations_count_only_finished_runs():
    runs = [run(10, n=1), run(20, n=2), run(1000, Status.FAILED, 3), run(30, Status.RUNNING, 4)]
    assert durations(runs) == Durations(count=2, p50=15.0, p95=pytest.approx(19.5))


def test_slow_and_fast_flags_on_known_data():
    kept = [run(100, n=i) for i in range(19)] + [run(400, n=19)]
    usual = durations(kept)
    assert usual.p50 == 100 and usual.p95 == pytest.approx(115.0)  # 100 + 0.05 * 300
    assert flags(run(400), usual, 1.5, 0.1) == ["slow"]  # 400 > 115 * 1.5
    assert flags(run(172), usual, 1.5, 0.1) == []  # 172 < 172.5
    assert flags(run(173), usual, 1.5, 0.1) == ["slow"]
    assert flags(run(9.9), usual, 1.5, 0.1) == ["fast"]  # < 100 * 0.1
    assert flags(run(10), usual, 1.5, 0.1) == []
    # A failed run is neither (it stops when it fails); a running one can be slow, never fast.
    assert flags(run(1, Status.FAILED), usual, 1.5, 0.1) == []
    assert flags(run(500, Status.RUNNING), usual, 1.5, 0.1) == ["slow"]
    assert flags(run(1, Status.RUNNING), usual, 1.5, 0.1) == []


def test_no_flag_before_five_finished_runs():
    usual = durations([run(100, n=i) for i in range(4)])
    assert flags(run(1000), usual, 1.5, 0.1) == []
    assert flags(run(1), usual, 1.5, 0.1) == []
    usual = durations([run(100, n=i) for i in range(5)])
    assert flags(run(1000), usual, 1.5, 0.1) == ["slow"]


def test_eta_from_the_rate_so_far():
    assert eta(3, 10, T0, T0 + dt.timedelta(seconds=30)) == pytest.approx(70.0)
    assert eta(0, 10, T0, T0 + dt.timedelta(seconds=30)) is None
    assert eta(3, None, T0, T0 + dt.timedelta(seconds=30)) is None
    assert eta(3, 10, T0, T0) is None
    assert progress_percent(3, 10) == 30.0
    assert progress_percent(3, None) is None
    assert progress_percent(12, 10) == 100.0
