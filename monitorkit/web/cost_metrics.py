"""The metrics of what each command id's last run cost (``metrics.py`` yields them).

The last run is the newest kept run that recorded its cost (one that ended: a running run's
cost is not known yet). Per command id, with the labels of every per-command series:

- ``monitorkit_last_run_cpu_seconds{mode="user"|"system"}``: the process's CPU time;
- ``monitorkit_last_run_peak_memory_bytes``: the process's peak resident memory;
- ``monitorkit_last_run_queries{alias}`` and ``monitorkit_last_run_query_seconds{alias}``: the
  run's database queries on each alias it used, and their time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..measures import DATABASES, QUERY_COUNT, QUERY_SECONDS, Measure
from ..record import RunRecord

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric


def last_costed(runs: Sequence[RunRecord]) -> RunRecord | None:
    """Return the newest of ``runs`` (newest first) that recorded its cost."""
    return next((run for run in runs if isinstance(run.cost, dict)), None)


class CostMetrics:
    """The families of the last run's cost, filled one command id at a time."""

    def __init__(self, labels: Sequence[str]) -> None:
        from prometheus_client.core import GaugeMetricFamily

        names = list(labels)
        self.cpu = GaugeMetricFamily(
            "monitorkit_last_run_cpu_seconds",
            "CPU time of the last run's process, by mode (user, system), in seconds.",
            labels=[*names, "mode"],
        )
        self.memory = GaugeMetricFamily(
            "monitorkit_last_run_peak_memory_bytes",
            "Peak resident memory of the last run's process, in bytes.",
            labels=names,
        )
        self.queries = GaugeMetricFamily(
            "monitorkit_last_run_queries",
            "Database queries the last run made, by database alias.",
            labels=[*names, "alias"],
        )
        self.query_seconds = GaugeMetricFamily(
            "monitorkit_last_run_query_seconds",
            "Time the last run's database queries took, by database alias, in seconds.",
            labels=[*names, "alias"],
        )

    def add(self, labels: list[str], runs: Sequence[RunRecord]) -> None:
        """Add the cost of the last of ``runs`` (newest first) that recorded one."""
        run = last_costed(runs)
        if run is None:
            return
        cost = run.cost
        for mode, measure in (("user", Measure.CPU_USER), ("system", Measure.CPU_SYSTEM)):
            value = measure.of(cost)
            if value is not None:
                self.cpu.add_metric([*labels, mode], value)
        memory = Measure.PEAK_MEMORY.of(cost)
        if memory is not None:
            self.memory.add_metric(labels, memory)
        databases = cost.get(DATABASES) if isinstance(cost, dict) else None
        for alias, entry in sorted(databases.items() if isinstance(databases, dict) else []):
            if isinstance(entry, dict):
                self.queries.add_metric([*labels, alias], entry.get(QUERY_COUNT) or 0)
                self.query_seconds.add_metric([*labels, alias], entry.get(QUERY_SECONDS) or 0.0)

    def families(self) -> Iterator[Metric]:
        """Yield the four families."""
        yield from (self.cpu, self.memory, self.queries, self.query_seconds)
