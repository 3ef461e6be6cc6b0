"""What is usual for a command's finished runs: their p50 and p95, and the slow and fast flags.

Pure functions of plain values (no Django, no I/O), at the bottom of the house: the status page
(``web/stats.py``, ``web/dashboard.py``) shows them, and a run alerting on ``outliers``
(``expectations.py``, judged by the run's sender) uses the same rule, so the run alerted is
the run flagged.

- Percentiles interpolate linearly between the two nearest ranks (what numpy and
  ``statistics.quantiles(method="inclusive")`` do): p50 of ``[1, 2, 3, 4]`` is 2.5.
- They are taken over the command's kept runs that ``FINISHED`` (a failed run stops early or
  late for reasons of its own, so it would blur what "usual" means).
- A run is *slow* when it took longer than p95 x ``slow_factor``, and *fast* (suspiciously)
  when it finished in less than the median x ``fast_fraction``. Neither is said before the
  command has :data:`MIN_RUNS` finished runs: with fewer, "usual" is not known yet.
- A running run is slow as soon as it has run longer than that; it is never fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .record import RunRecord, Status

#: Finished runs a command needs before a run of it is flagged slow or fast.
MIN_RUNS = 5
SLOW = "slow"
FAST = "fast"


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q``-th percentile (0 to 100) of ``values``, or ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Durations:
    """What is usual for one command: over its kept runs that finished."""

    count: int
    p50: float | None
    p95: float | None

    @property
    def enough(self) -> bool:
        """Whether there are runs enough to call a run slow or fast."""
        return self.count >= MIN_RUNS


def finished_durations(runs: Iterable[RunRecord]) -> list[float]:
    """Return the durations of the runs that ``FINISHED``, in the order given."""
    return [
        run.duration
        for run in runs
        if run.status == Status.FINISHED and run.duration is not None and run.duration >= 0
    ]


def durations(runs: Iterable[RunRecord]) -> Durations:
    """Return the p50 and p95 of the finished runs among ``runs``."""
    values = finished_durations(runs)
    return Durations(len(values), percentile(values, 50), percentile(values, 95))


def outcome_durations(outcomes: Iterable[Mapping[str, Any]]) -> Durations:
    """Return the p50 and p95 of the outcomes (``record.outcome``) that ``FINISHED``, as
    :func:`durations` does of whole records: what the command page and ``outliers`` read."""
    values = [
        float(o["duration"])
        for o in outcomes
        if o.get("status") == Status.FINISHED.value
        and o.get("duration") is not None
        and o["duration"] >= 0
    ]
    return Durations(len(values), percentile(values, 50), percentile(values, 95))


def flags(run: RunRecord, usual: Durations, slow_factor: float, fast_fraction: float) -> list[str]:
    """Return the flags of one run: ``["slow"]``, ``["fast"]`` or ``[]`` (rules above)."""
    duration = run.duration
    if not usual.enough or duration is None or usual.p50 is None or usual.p95 is None:
        return []
    status = run.status
    if status not in (Status.FINISHED, Status.STARTED, Status.RUNNING):
        return []
    if duration > usual.p95 * slow_factor:
        return [SLOW]
    if status == Status.FINISHED and duration < usual.p50 * fast_fraction:
        return [FAST]
    return []
