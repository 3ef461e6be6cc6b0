"""Prometheus/OpenMetrics exposition of the command ids, from the reporters' read side.

Through ``prometheus_client`` (the ``monitorkit[metrics]`` extra), never a hand-written format.
A custom collector reads the store at each scrape, always with the same few queries however
many command ids there are: the judge's inputs (``overview.judge_inputs``: each id's newest
records and the watcher's stored states) and one ``recent_runs`` of every kept run. Every id is
judged by the one judge (``overview.judge_one``), as the page, its JSON, the watcher and
``monitor_status`` judge it. Names and units follow the Prometheus naming guide (``_seconds``,
``_timestamp_seconds`` for Unix times, ``_info`` for a value of 1 that carries labels); the
batch-job set follows kube-state-metrics' CronJob metrics.

Per command id (labels ``command_id`` and ``command``, the command's name), for the ids that
``MONITORKIT_METRICS_IDS`` lets through:

- ``monitorkit_health{health=...}``: 1 for the current health, 0 for the others;
- ``monitorkit_last_run_status{status=...}``: 1 for the newest run's status, 0 for the others;
  an unfinished run that stopped beating is ``status="STALE"`` (``health.is_stale``), never
  ``RUNNING``;
- ``monitorkit_last_run_start_timestamp_seconds`` and ``monitorkit_last_duration_seconds``;
- ``monitorkit_last_success_timestamp_seconds``, ``monitorkit_last_failure_timestamp_seconds``
  and ``monitorkit_last_completion_timestamp_seconds``: 0 for never (:func:`last_times`);
- ``monitorkit_next_expected_timestamp_seconds``: the first start expected after the newest run
  began (:func:`expected_start`); none without a schedule;
- ``monitorkit_schedule_info{schedule,timezone}``: 1, for an id with a schedule;
- ``monitorkit_start_margin_seconds`` (with a schedule) and ``monitorkit_max_runtime_seconds``
  (with a limit);
- ``monitorkit_active_runs``: unfinished runs still beating (above 1: runs overlap);
- ``monitorkit_runs_total``: runs numbered so far (the newest run's seq; a counter);
- ``monitorkit_runs_ended_total{outcome=...}``: runs that ended with each outcome, counted by
  the store as each was stored (``Reporter.outcome_counts``), so retention takes nothing from
  it; left out for a store that keeps no count;
- ``monitorkit_kept_runs`` and ``monitorkit_kept_failed_runs``: over the kept runs (gauges, since
  the oldest runs are dropped as new ones come);
- ``monitorkit_failures_in_row``;
- ``monitorkit_snoozed``: 1 while a snooze or maintenance window holds the id's alerts (its
  health is still judged and exported), as the page and ``monitor_status`` mark it;
- what the last run cost (``cost_metrics.py``): ``monitorkit_last_run_cpu_seconds{mode}``,
  ``monitorkit_last_run_peak_memory_bytes``, ``monitorkit_last_run_queries{alias}`` and
  ``monitorkit_last_run_query_seconds{alias}``.

And once: ``monitorkit_commands_unexported`` (ids ``MONITORKIT_METRICS_IDS`` left out),
``monitorkit_spool_files`` (records waiting in the spool),
``monitorkit_build_info{version,python,django}`` and, for a store with a health store, the
watcher (``watcher_health.py``): ``monitorkit_watcher_last_cycle_timestamp_seconds`` (when the
newest cycle of any watcher ended; 0 for never), ``monitorkit_watcher_interval_seconds`` (the
interval it is judged by) and ``monitorkit_watcher_silent`` (1 when a watcher is expected and
none ran a cycle for two intervals), so ``time() -
monitorkit_watcher_last_cycle_timestamp_seconds > 2 * monitorkit_watcher_interval_seconds`` is
plain PromQL too.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..conf import monitor_settings
from ..health import silence
from ..health.judge import FAILED, UNFINISHED, Assessment, Health, is_stale
from ..health.overview import judge_inputs, judge_one, shown, shown_ids
from ..health.schedules import Expectation, discover
from ..health.watcher import WatcherHealth, read
from ..naming import matches_any
from ..record import RunRecord, Status, utcnow
from ..snoozes import active_for
from ..status import ENDED
from ..stores.base import Reporter
from ..stores.health_store import HealthState
from .cost_metrics import CostMetrics

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

#: The status label of a newest run that stopped beating (it stays ``RUNNING`` in the store).
STALE = Health.STALE.value
MISSING = (
    "The metrics endpoint needs prometheus_client: pip install 'monitorkit[metrics]' "
    "(or prometheus_client)."
)
#: The labels of every per-command series.
LABELS = ("command_id", "command")


def available() -> bool:
    """Return whether ``prometheus_client`` can be imported."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


class LastTimes(NamedTuple):
    """When a command id last succeeded, failed and completed (Unix seconds; 0: never)."""

    success: float
    failure: float
    completion: float


def _end(run: RunRecord) -> float:
    end = run.finished or run.latest or run.started
    return end.timestamp()


def last_times(state: HealthState | None, runs: Sequence[RunRecord]) -> LastTimes:
    """Return when the id last succeeded, failed and completed: the one place these are picked.

    The later of two sources: the times the watcher stored in the health state (they outlive
    retention) and the newest kept runs (``runs``, newest first: the newest ``FINISHED`` run,
    the newest ``FAILED``/``SYSTEM_KILL`` one and the newest with any outcome, each at its end),
    which are newer than the state until the next watcher cycle and are all there is where no
    watcher runs. 0 when neither knows one.
    """
    success = failure = completion = 0.0
    for run in runs:
        status = run.status.value
        if status in UNFINISHED or status == Status.MISSED.value:
            continue
        end = _end(run)
        completion = completion or end
        if status == Status.FINISHED.value:
            success = success or end
        elif status in FAILED:
            failure = failure or end
        if success and failure:
            break
    if state is not None:
        stored = [0.0 if t is None else t.timestamp() for t in state.outcomes()]
        success, failure, completion = (
            max(success, stored[0]),
            max(failure, stored[1]),
            max(completion, stored[2]),
        )
    return LastTimes(success, failure, completion)


def active_runs(runs: Iterable[RunRecord], now: dt.datetime, stale_after: float) -> int:
    """Return how many of ``runs`` are unfinished and still beating (above 1: they overlap)."""
    return sum(
        1 for run in runs if run.status.value in UNFINISHED and not is_stale(run, now, stale_after)
    )


def exported(command_ids: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """Return the ids ``MONITORKIT_METRICS_IDS`` lets through (fnmatch ``patterns``, case kept)."""
    if "*" in patterns:
        return list(command_ids)
    return [cid for cid in command_ids if matches_any(cid, patterns)]


def command_name(command_id: str, runs: Sequence[RunRecord]) -> str:
    """Return the command's name: its newest run's, else the id up to its first option."""
    for run in runs:
        if run.name:
            return run.name
    return command_id.split("__", 1)[0]


def schedule_text(expectation: Expectation) -> str:
    """Return the schedule as a label: the cron expression, or the seconds between starts."""
    schedule = expectation.schedule
    if isinstance(schedule, dt.timedelta):
        seconds = schedule.total_seconds()
        return f"{int(seconds) if seconds.is_integer() else seconds}s"
    return str(schedule)


def expected_start(
    expectation: Expectation | None,
    found: Assessment,
    state: HealthState | None,
    now: dt.datetime,
) -> dt.datetime | None:
    """Return the first start the schedule expects after the newest real run began.

    As kube-state-metrics' ``next_schedule_time``: it does not move on past a start that was
    missed (the judge's ``next_expected`` does, to the start after it), so it stays in the past
    while the command is missed and ``time() > next_expected + margin`` holds until a run starts.
    With no run, it counts from when the watcher first saw the schedule (no watcher: ``now``).
    """
    if expectation is None or expectation.schedule is None:
        return None
    if found.last_run is not None:
        return expectation.due_after(found.last_run.started)
    return expectation.next_expected(state.first_seen if state is not None else now)


def spool_files() -> int:
    """Return how many records wait in the spool (0 when its directory does not exist)."""
    from ..recording.spool import Spool

    return Spool.for_settings(monitor_settings).count()


def build_labels() -> dict[str, str]:
    """Return monitorkit's, Python's and Django's versions."""
    import django

    from ..version import __version__

    return {
        "version": __version__,
        "python": platform.python_version(),
        "django": django.get_version(),
    }


class StoreCollector:
    """Yields the metric families of the exported command ids at each scrape (``collect``)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            InfoMetricFamily,
        )

        now = utcnow()
        stale_after = monitor_settings.stale_after  # read once, not per command id
        expectations = discover()
        store = self.reporter.health_store()
        judged, states = judge_inputs(self.reporter, expectations, store)
        watcher = read(store, expectations, monitor_settings, now)
        until = watcher.judged_until if watcher is not None else None
        kept = self.reporter.recent_runs(None)
        every = shown_ids(expectations, judged)  # the ids the overview shows
        ids = exported(every, monitor_settings.metrics_ids)

        def gauge(name: str, text: str, *extra: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, text, labels=[*LABELS, *extra])

        health = gauge("monitorkit_health", "1 for the command id's current health.", "health")
        status = gauge(
            "monitorkit_last_run_status",
            "1 for the status of the command id's newest run.",
            "status",
        )
        started = gauge(
            "monitorkit_last_run_start_timestamp_seconds",
            "When the newest run started (Unix time).",
        )
        duration = gauge(
            "monitorkit_last_duration_seconds",
            "How long the newest run took (so far, while it runs), in seconds.",
        )
        success = gauge(
            "monitorkit_last_success_timestamp_seconds",
            "When the newest kept run that finished successfully ended (Unix time; 0: none).",
        )
        failure = gauge(
            "monitorkit_last_failure_timestamp_seconds",
            "When the newest kept run that FAILED or was killed ended (Unix time; 0: none).",
        )
        completion = gauge(
            "monitorkit_last_completion_timestamp_seconds",
            "When the newest kept run with an outcome ended, whatever it was (Unix time; 0: none).",
        )
        next_expected = gauge(
            "monitorkit_next_expected_timestamp_seconds",
            "The first start the schedule expects after the newest run began; it stays in the "
            "past while that start is missed (Unix time).",
        )
        schedule_info = InfoMetricFamily(
            "monitorkit_schedule",
            "1 for a command id with a schedule: its cron expression or interval and time zone.",
            labels=list(LABELS),
        )
        margin = gauge(
            "monitorkit_start_margin_seconds",
            "Seconds after an expected start before the command id counts as missed.",
        )
        max_runtime = gauge(
            "monitorkit_max_runtime_seconds",
            "Seconds a run may take before the command id counts as overrunning.",
        )
        active = gauge(
            "monitorkit_active_runs",
            "Unfinished runs of the command id that still beat (above 1: runs overlap).",
        )
        runs_total = CounterMetricFamily(
            "monitorkit_runs", "Runs of the command id numbered so far.", labels=list(LABELS)
        )
        counts = self.reporter.outcome_counts()
        ended = CounterMetricFamily(
            "monitorkit_runs_ended",
            "Runs of the command id that ended, by outcome (MISSED: a start that never came); "
            "kept past retention.",
            labels=[*LABELS, "outcome"],
        )
        kept_runs = gauge("monitorkit_kept_runs", "Runs of the command id kept in the store.")
        kept_failed = gauge(
            "monitorkit_kept_failed_runs", "Kept runs that ended FAILED or SYSTEM_KILL."
        )
        in_row = gauge(
            "monitorkit_failures_in_row", "Failed runs from the newest back to the last success."
        )
        snoozed = gauge(
            "monitorkit_snoozed",
            "1 while a snooze or maintenance window holds the command id's alerts.",
        )
        snoozes = silence.shown(store, now)
        spent = CostMetrics(LABELS)
        for command_id in ids:
            records = judged.get(command_id, [])
            expectation = expectations.get(command_id)
            state = states.get(command_id)
            found = shown(
                judge_one(expectation, records, state, now, stale_after), state, records, until
            )
            runs = kept.get(command_id) or records
            labels = [command_id, command_name(command_id, runs)]
            for value in Health:
                health.add_metric([*labels, value.value], float(found.health == value))
            in_row.add_metric(labels, found.failures_in_row)
            snoozed.add_metric(labels, float(bool(active_for(snoozes, command_id, now))))
            if counts is not None:
                counted = counts.get(command_id, {})
                for outcome in ENDED:
                    ended.add_metric([*labels, outcome.value], counted.get(outcome.value, 0))
            kept_runs.add_metric(labels, len(runs))
            kept_failed.add_metric(labels, sum(1 for run in runs if run.status.value in FAILED))
            spent.add(labels, runs)
            times = last_times(state, runs)
            success.add_metric(labels, times.success)
            failure.add_metric(labels, times.failure)
            completion.add_metric(labels, times.completion)
            active.add_metric(labels, active_runs(runs, now, stale_after))
            expected = expected_start(expectation, found, state, now)
            if expected is not None:
                next_expected.add_metric(labels, expected.timestamp())
            if expectation is not None and expectation.schedule is not None:
                zone = str(expectation.zone)
                schedule = {"schedule": schedule_text(expectation), "timezone": zone}
                schedule_info.add_metric(labels, schedule)
                margin.add_metric(labels, expectation.start_margin.total_seconds())
            if expectation is not None and expectation.max_runtime is not None:
                max_runtime.add_metric(labels, expectation.max_runtime.total_seconds())
            if not runs:
                continue
            newest = runs[0]
            stale = is_stale(newest, now, stale_after)
            for state_ in Status:
                is_status = newest.status == state_ and not stale
                status.add_metric([*labels, state_.value], float(is_status))
            status.add_metric([*labels, STALE], float(stale))
            started.add_metric(labels, newest.started.timestamp())
            if newest.duration is not None:
                duration.add_metric(labels, newest.duration)
            runs_total.add_metric(labels, max(newest.seq or 0, len(runs)))
        yield from (health, status, started, duration, success, failure, completion)
        yield from (next_expected, schedule_info, margin, max_runtime, active)
        yield from (runs_total, kept_runs, kept_failed, in_row, snoozed)
        yield from spent.families()
        if counts is not None:
            yield ended
        yield GaugeMetricFamily(
            "monitorkit_commands_unexported",
            "Command ids left out of these metrics by MONITORKIT_METRICS_IDS.",
            value=len(every) - len(ids),
        )
        yield GaugeMetricFamily(
            "monitorkit_spool_files",
            "Records waiting in the spool for their store (MONITORKIT_SPOOL_DIR).",
            value=spool_files(),
        )
        yield InfoMetricFamily(
            "monitorkit_build",
            "1, with the versions of monitorkit, Python and Django.",
            value=build_labels(),
        )
        yield from self.watcher_metrics(watcher)

    def watcher_metrics(self, found: WatcherHealth | None) -> Iterator[Metric]:
        """Yield the watcher's last cycle, interval and silence (nothing without health)."""
        from prometheus_client.core import GaugeMetricFamily

        if found is None:
            return
        yield GaugeMetricFamily(
            "monitorkit_watcher_last_cycle_timestamp_seconds",
            "When the newest cycle of any monitor_watch ended (Unix time; 0: never).",
            value=found.last.at.timestamp() if found.last is not None else 0.0,
        )
        yield GaugeMetricFamily(
            "monitorkit_watcher_interval_seconds",
            "Seconds between watcher cycles: the last watcher's loop interval, or "
            "MONITORKIT_WATCHER_INTERVAL.",
            value=found.interval,
        )
        yield GaugeMetricFamily(
            "monitorkit_watcher_silent",
            "1 when schedules or alerts need a watcher and none ran a cycle for two intervals.",
            value=float(found.silent),
        )


def exposition(reporter: Reporter, accept: str) -> tuple[bytes, str]:
    """Return the scrape body and its content type (OpenMetrics when ``accept`` asks for it)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    collector: Any = StoreCollector(reporter)
    registry.register(collector)
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
