"""Durations of a command's runs on the status page: what is usual (``monitorkit/usual.py``:
percentiles, the slow and fast flags, kept below, where a run's ``outliers`` use them too), a
running run's ETA, and the costs' percentiles and flags.

Pure functions of plain values (no Django, no I/O), so the numbers the status page, its JSON and
the metrics show can be checked against known data.

What runs cost (``monitorkit/measures.py``) has its p50 and p95 too, over the same runs; a run
whose peak memory or query count is above p95 x ``slow_factor`` is flagged ``high-memory`` or
``many-queries`` (:func:`cost_flags`), from :data:`MIN_RUNS` finished runs that have a cost, as
a slow run is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..measures import Measure
from ..record import Status
from ..usual import (
    FAST,
    MIN_RUNS,
    SLOW,
    Durations,
    durations,
    finished_durations,
    flags,
    outcome_durations,
    percentile,
)

__all__ = [
    "FAST",
    "MIN_RUNS",
    "SLOW",
    "Durations",
    "cost_flags",
    "costs",
    "durations",
    "eta",
    "finished_durations",
    "flags",
    "outcome_durations",
    "percentile",
    "progress_percent",
]


def eta(
    done: float | None, total: float | None, started: dt.datetime, now: dt.datetime
) -> float | None:
    """Return the seconds a running run still needs at its rate so far, or ``None``.

    ``None`` when the rate is unknown: nothing done yet, no total, or no time gone by.
    """
    if done is None or total is None or done <= 0 or total < done:
        return None
    elapsed = (now - started).total_seconds()
    if elapsed <= 0:
        return None
    return (total - done) * elapsed / done


def progress_percent(done: float | None, total: float | None) -> float | None:
    """Return how far along a run is, 0 to 100, or ``None`` without a usable total."""
    if done is None or total is None or total <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * done / total))


def costs(outcomes: Iterable[dict[str, Any]]) -> dict[Measure, Durations]:
    """Return each measure's count, p50 and p95 over the outcomes that ``FINISHED``.

    ``outcomes``: a command's ``command_outcomes`` (each with its run's ``cost`` when known).
    A ``Durations`` of a measure holds its values' percentiles, whatever their unit.
    """
    values: dict[Measure, list[float]] = {measure: [] for measure in Measure}
    for outcome in outcomes:
        if outcome.get("status") != Status.FINISHED.value or not outcome.get("cost"):
            continue
        for measure, found in values.items():
            value = measure.of(outcome["cost"])
            if value is not None and value >= 0:
                found.append(float(value))
    return {
        measure: Durations(len(found), percentile(found, 50), percentile(found, 95))
        for measure, found in values.items()
    }


def cost_flags(cost: Any, usual: dict[Measure, Durations], factor: float) -> list[str]:
    """Return the flags of a run's ``cost``: a flagged measure above its p95 x ``factor``."""
    found = []
    for measure, spread in usual.items():
        if measure.flag is None or not spread.enough or spread.p95 is None:
            continue
        value = measure.of(cost)
        if value is not None and value > spread.p95 * factor:
            found.append(measure.flag)
    return found
