"""Prometheus/OpenMetrics exposition of every command id, from the reporters' read side.

Through ``prometheus_client`` (the ``monitorkit[metrics]`` extra), never a hand-written format.
A custom collector reads the store at each scrape (``command_health`` and one ``recent_runs``
of every kept run) and yields, per command id (label ``command_id``):

- ``monitorkit_health{health=...}``: 1 for the current health, 0 for the others;
- ``monitorkit_last_run_status{status=...}``: 1 for the newest run's status, 0 for the others;
  an unfinished run that stopped beating is ``status="STALE"`` (``health.is_stale``), never
  ``RUNNING``;
- ``monitorkit_last_run_start_timestamp_seconds`` and ``monitorkit_last_duration_seconds``;
- ``monitorkit_last_success_timestamp_seconds``: the newest kept run that ``FINISHED``;
- ``monitorkit_runs_total``: runs numbered so far (the newest run's seq; a counter);
- ``monitorkit_kept_runs`` and ``monitorkit_kept_failed_runs``: over the kept runs (gauges, since
  the oldest runs are dropped as new ones come);
- ``monitorkit_failures_in_row``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .conf import monitor_settings
from .health import FAILED, Health, is_stale
from .overview import command_health
from .record import RunRecord, Status, utcnow
from .reporters.base import Reporter

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

#: The status label of a newest run that stopped beating (it stays ``RUNNING`` in the store).
STALE = Health.STALE.value
MISSING = (
    "The metrics endpoint needs prometheus_client: pip install 'monitorkit[metrics]' "
    "(or prometheus_client)."
)


def available() -> bool:
    """Return whether ``prometheus_client`` can be imported."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


class StoreCollector:
    """Yields the metric families of every command id at each scrape (``collect``)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        rows = command_health(self.reporter)
        now = utcnow()
        kept = self.reporter.recent_runs(None)
        label = ["command_id"]
        health = GaugeMetricFamily(
            "monitorkit_health", "1 for the command id's current health.", labels=[*label, "health"]
        )
        status = GaugeMetricFamily(
            "monitorkit_last_run_status",
            "1 for the status of the command id's newest run.",
            labels=[*label, "status"],
        )
        started = GaugeMetricFamily(
            "monitorkit_last_run_start_timestamp_seconds",
            "When the newest run started (Unix time).",
            labels=label,
        )
        duration = GaugeMetricFamily(
            "monitorkit_last_duration_seconds",
            "How long the newest run took (so far, while it runs).",
            labels=label,
        )
        success = GaugeMetricFamily(
            "monitorkit_last_success_timestamp_seconds",
            "When the newest kept run that finished successfully ended (Unix time).",
            labels=label,
        )
        runs_total = CounterMetricFamily(
            "monitorkit_runs", "Runs of the command id numbered so far.", labels=label
        )
        kept_runs = GaugeMetricFamily(
            "monitorkit_kept_runs", "Runs of the command id kept in the store.", labels=label
        )
        kept_failed = GaugeMetricFamily(
            "monitorkit_kept_failed_runs",
            "Kept runs that ended FAILED or SYSTEM_KILL.",
            labels=label,
        )
        in_row = GaugeMetricFamily(
            "monitorkit_failures_in_row",
            "Failed runs from the newest back to the last success.",
            labels=label,
        )
        for command_id, latest, found in rows:
            for value in Health:
                health.add_metric([command_id, value.value], float(found.health == value))
            runs = kept.get(command_id) or ([latest] if latest is not None else [])
            in_row.add_metric([command_id], found.failures_in_row)
            kept_runs.add_metric([command_id], len(runs))
            kept_failed.add_metric(
                [command_id], sum(1 for run in runs if run.status.value in FAILED)
            )
            if not runs:
                continue
            newest = runs[0]
            stale = is_stale(newest, now, monitor_settings.stale_after)
            for state in Status:
                shown = newest.status == state and not stale
                status.add_metric([command_id, state.value], float(shown))
            status.add_metric([command_id, STALE], float(stale))
            started.add_metric([command_id], newest.started.timestamp())
            if newest.duration is not None:
                duration.add_metric([command_id], newest.duration)
            ended = _last_success(runs)
            if ended is not None:
                success.add_metric([command_id], ended)
            runs_total.add_metric([command_id], max(newest.seq or 0, len(runs)))
        yield from (health, status, started, duration, success, runs_total, kept_runs)
        yield from (kept_failed, in_row)


def _last_success(runs: list[RunRecord]) -> float | None:
    for run in runs:
        if run.status == Status.FINISHED and (run.finished or run.latest):
            end = run.finished or run.latest
            return end.timestamp() if end is not None else None
    return None


def exposition(reporter: Reporter, accept: str) -> tuple[bytes, str]:
    """Return the scrape body and its content type (OpenMetrics when ``accept`` asks for it)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    collector: Any = StoreCollector(reporter)
    registry.register(collector)
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
