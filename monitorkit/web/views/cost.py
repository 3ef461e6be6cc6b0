"""A run's release and cost, and a command's usual cost, as the pages write them."""

from __future__ import annotations

from typing import Any

from ...measures import DATABASES, QUERY_COUNT, QUERY_SECONDS, Measure
from ...release import release_words

MIB = 1024 * 1024


def measure_text(measure: Measure, value: float | None) -> str:
    """Return a value of ``measure`` in words: ``0.412 s``, ``58.9 MiB``, ``12``."""
    if value is None:
        return "—"
    if measure.unit == "bytes":
        return f"{value / MIB:.1f} MiB"
    if measure.unit == "seconds":
        return f"{value:.3f} s"
    return f"{value:.0f}"


def release_text(release: Any) -> str:
    """Return what ran: ``abc123 (Python 3.11.7, Django 5.2.19)``; ``""`` when not recorded."""
    return release_words(release) or ""


def cost_rows(cost: Any) -> list[dict[str, str]]:
    """Return a run's cost as rows of the run page: each measure, then each database's queries."""
    if not isinstance(cost, dict):
        return []
    rows = [
        {"measure": m.value, "label": m.label, "value": measure_text(m, m.of(cost))}
        for m in (Measure.CPU_USER, Measure.CPU_SYSTEM, Measure.PEAK_MEMORY)
    ]
    databases = cost.get(DATABASES)
    for alias, entry in sorted(databases.items() if isinstance(databases, dict) else []):
        if not isinstance(entry, dict):
            continue
        count, seconds = entry.get(QUERY_COUNT), entry.get(QUERY_SECONDS)
        time_text = measure_text(Measure.QUERY_TIME, seconds)
        rows.append(
            {
                "measure": Measure.QUERIES.value,
                "label": f"Queries ({alias})",
                "value": f"{count} in {time_text}",
            }
        )
    return rows


def usual_cost_rows(costs: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the command page's rows of each measure's p50 and p95 (the JSON's ``costs``)."""
    rows = []
    for measure in Measure:
        spread = costs.get(measure.value) or {}
        rows.append(
            {
                "measure": measure.value,
                "label": measure.label,
                "p50": measure_text(measure, spread.get("p50")),
                "p95": measure_text(measure, spread.get("p95")),
                "runs": spread.get("finished_runs", 0),
            }
        )
    return rows
