"""``monitorkit.monitor``: monitor any callable, sync or ``async``, or any block of code.

``monitor("nightly", schedule="0 3 * * *")`` is a declaration, made once (usually at import):
its schedule is registered for the watcher then. It decorates a function, and it is a context
manager (``with`` and ``async with``). Each call or each ``with`` is one run, driven by a fresh
:class:`FunctionMonitor`, the same mixins as a command's: record, heartbeat, progress, metadata,
reporters, switches, output tail. The function's exceptions and return value pass through
untouched.

Unlike a command, no kill-signal handler is installed: the process belongs to its host (a
Celery or RQ worker, a web server), which handles its own signals. A run whose process is
killed stays ``RUNNING`` until the watcher finds it stale.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

import wrapt

from . import naming
from .conf import INTERVAL
from .health import schedules
from .mixins import (
    ConcurrencyMixin,
    DatabaseReporterMixin,
    FailureCaptureMixin,
    FirebaseReporterMixin,
    HeartbeatMixin,
    OutcomeExpectationMixin,
    OutputTailMixin,
    ProgressMixin,
)
from .mixins.base import WRAPPER_CODES, _monitored_call
from .record import Identity, Outcome
from .recording.run import MonitoredRun

logger = logging.getLogger("monitorkit")

F = TypeVar("F", bound=Callable[..., Any])
Metadata = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


class FunctionMonitor(
    HeartbeatMixin,
    OutputTailMixin,
    FailureCaptureMixin,
    ProgressMixin,
    OutcomeExpectationMixin,
    ConcurrencyMixin,
    FirebaseReporterMixin,
    DatabaseReporterMixin,
):
    """One run of a monitored function or ``with`` block, configured by its :class:`Monitor`.

    The call's arguments never reach the record (they may hold secrets): the hooks that take
    ``args`` and ``kwargs`` ignore them.
    """

    def __init__(self, declaration: Monitor) -> None:
        self.declaration = declaration
        self.extra_metadata: dict[str, Any] = {}

    def get_monitor_identity(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Identity:
        """Return the monitor's name as the command id (sanitized) and name; no params."""
        return Identity(id=self.declaration.command_id, name=self.declaration.name, params="")

    def get_monitor_heartbeat_interval(self) -> float:
        """Return ``heartbeat_interval=`` (judged when declared), else the setting."""
        return self.declaration.heartbeat_interval or self.monitor_settings.interval

    def get_monitor_outcome_values(self) -> dict[str, Any]:
        """Return the outcome keys the declaration was given (``min_duration=``...)."""
        return dict(self.declaration.outcome_values)

    def get_monitor_concurrency_values(self) -> dict[str, Any]:
        """Return ``concurrency=`` and ``when_refused=`` as the declaration was given them."""
        return dict(self.declaration.concurrency_values)

    def get_monitor_metadata(self, **metadata: Any) -> dict[str, Any]:
        """Add the declaration's metadata, then what the ``with`` block set on its handle."""
        found: dict[str, Any] = super().get_monitor_metadata(**metadata)
        found.update(self.declaration.metadata_fields())
        found.update(self.extra_metadata)
        return found

    def monitor_outcome(self, error: BaseException | None) -> Outcome:
        """Return the outcome; only ``sys.exit`` gives a function an exit status."""
        outcome = super().monitor_outcome(error)
        if not isinstance(error, SystemExit):
            outcome = dataclasses.replace(outcome, exit_code=None)
        if error is None:
            outcome = dataclasses.replace(outcome, message="Finished")
        return outcome

    async def monitor_end_async(self, run: MonitoredRun, error: BaseException | None) -> None:
        """``monitor_end`` for a coroutine: the flush waits in a worker thread, not the loop."""
        try:
            self.monitor_finish(run, error)
            await asyncio.to_thread(run.flush)
        except Exception:
            logger.exception("monitorkit could not record the end of %s", run.record.id)
        finally:
            self.monitor_close(run)


class RunHandle:
    """What ``with monitorkit.monitor(...) as run`` gives: progress and metadata of the run.

    With monitoring off it takes the same calls and does nothing with them.
    """

    def __init__(self, monitor: FunctionMonitor | None, run: MonitoredRun | None) -> None:
        self._monitor = monitor
        self.run_id: str | None = run.record.run_id if run is not None else None
        """The run's id (as stored), or ``None`` when this block is not monitored."""
        self.metadata: dict[str, Any] = monitor.extra_metadata if monitor is not None else {}
        """Fields stored with the run's final record: ``run.metadata["rows"] = 120``."""

    def progress(self, done: float, total: float | None = None) -> None:
        """Record that ``done`` of ``total`` units are done (sent with the next heartbeat)."""
        if self._monitor is not None:
            self._monitor.monitor_progress(done, total)


#: The ``with`` blocks open in this context, innermost last: (declaration, its run's parts).
_open_blocks: contextvars.ContextVar[
    tuple[tuple[Monitor, FunctionMonitor, MonitoredRun | None], ...]
] = contextvars.ContextVar("monitorkit_open_blocks", default=())


class Monitor:
    """A monitored name: a decorator and a context manager, each use of which is one run.

    Args:
        name: The monitor's name; made a command id with the rules of command ids.
        schedule: A cron expression or the seconds between two starts (as
            ``monitor_schedule``); registered at once for ``monitor_watch``.
        timezone: As ``monitor_timezone``.
        start_margin: As ``monitor_start_margin``.
        max_runtime: As ``monitor_max_runtime``.
        alert_after: As ``monitor_alert_after``.
        notify_recovery: As ``monitor_notify_recovery``.
        muted: As ``monitor_muted``.
        channels: As ``monitor_channels`` (and ``owner``, ``runbook``, ``realert_every``,
            ``escalate_after``, ``escalate_to`` as their ``monitor_*`` attributes).
        recover_after: As ``monitor_recover_after``.
        flap_threshold: As ``monitor_flap_threshold``.
        min_duration: As ``monitor_min_duration``: a run that finishes sooner is ``unmet``.
        max_duration: As ``monitor_max_duration``: a run that finishes later is ``unmet``.
        check: As ``monitor_check``: a function given the finished record, or conditions on
            its metadata such as ``"rows > 0"``.
        outliers: As ``monitor_outliers``: ``"fast"``, ``"slow"`` or both (``True``): a run
            the status page flags so is ``unmet``.
        concurrency: As ``monitor_concurrency``: ``"allow"``, ``"forbid"`` or ``N`` runs at
            once; a call refused by it does not run the function.
        when_refused: As ``monitor_when_refused``: a refused call returns ``None``
            (``"skip"``) or raises ``monitorkit.concurrency.RunRefused`` (``"fail"``); a
            refused ``with`` block always raises it (a block cannot be skipped).
        metadata: A dict stored with every record of the run, or a callable returning one
            (called when the run starts and when it ends).
        heartbeat_interval: Seconds between heartbeats (``FIREBASE_MONITORING_INTERVAL_PING``
            by default).

    A bad value is logged on the ``monitorkit`` logger and left out (its default is used);
    a name that is not a string, or a generator function, raises ``TypeError``.
    """

    def __init__(
        self,
        name: str,
        *,
        schedule: Any = None,
        timezone: Any = None,
        start_margin: Any = None,
        max_runtime: Any = None,
        alert_after: Any = None,
        notify_recovery: Any = None,
        muted: Any = None,
        channels: Any = None,
        owner: Any = None,
        runbook: Any = None,
        realert_every: Any = None,
        escalate_after: Any = None,
        escalate_to: Any = None,
        recover_after: Any = None,
        flap_threshold: Any = None,
        min_duration: Any = None,
        max_duration: Any = None,
        check: Any = None,
        outliers: Any = None,
        concurrency: Any = None,
        when_refused: Any = None,
        metadata: Metadata | None = None,
        heartbeat_interval: float | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"monitorkit.monitor() needs a name (a non-empty str), not {name!r}")
        self.name = name
        self.command_id = naming.sanitize_key(name)
        self.metadata = self._judge_metadata(metadata)
        self.heartbeat_interval = self._judge_interval(heartbeat_interval)
        outcome = {
            "min_duration": min_duration,
            "max_duration": max_duration,
            "check": check,
            "outliers": outliers,
        }
        self.outcome_values = {key: value for key, value in outcome.items() if value is not None}
        limits = {"concurrency": concurrency, "when_refused": when_refused}
        self.concurrency_values = {key: value for key, value in limits.items() if value is not None}
        schedules.declare(
            self.command_id,
            {
                "schedule": schedule,
                "timezone": timezone,
                "start_margin": start_margin,
                "max_runtime": max_runtime,
                "alert_after": alert_after,
                "notify_recovery": notify_recovery,
                "muted": muted,
                "channels": channels,
                "owner": owner,
                "runbook": runbook,
                "realert_every": realert_every,
                "escalate_after": escalate_after,
                "escalate_to": escalate_to,
                "recover_after": recover_after,
                "flap_threshold": flap_threshold,
                **outcome,
                **limits,
            },
            f"monitorkit.monitor({name!r})",
        )

    def __repr__(self) -> str:
        return f"<monitorkit.monitor {self.name!r}>"

    # Declaration: a bad value is logged and left out, never raised into the user's import.
    def _judge_metadata(self, metadata: Any) -> Metadata | None:
        if metadata is None or isinstance(metadata, Mapping) or callable(metadata):
            return cast("Metadata | None", metadata)
        logger.warning(
            "monitorkit: metadata= of monitor %r must be a dict or a callable returning one, "
            "not a %s; it is left out",
            self.name,
            type(metadata).__name__,
        )
        return None

    def _judge_interval(self, interval: Any) -> float | None:
        if interval is None:
            return None
        verdict = INTERVAL.rule(interval)
        if verdict.value is None:
            logger.warning(
                "monitorkit: heartbeat_interval= of monitor %r %s; "
                "FIREBASE_MONITORING_INTERVAL_PING is used",
                self.name,
                verdict.problem,
            )
        return verdict.value

    def metadata_fields(self) -> Mapping[str, Any]:
        """Return the declared metadata; a failing callable costs only its own fields."""
        if self.metadata is None:
            return {}
        if isinstance(self.metadata, Mapping):
            return self.metadata
        try:
            fields: object = self.metadata()
        except Exception:
            logger.exception("monitorkit: the metadata callable of monitor %r failed", self.name)
            return {}
        if not isinstance(fields, Mapping):
            logger.warning(
                "monitorkit: the metadata callable of monitor %r returned a %s, not a dict",
                self.name,
                type(fields).__name__,
            )
            return {}
        return fields

    # The decorator.
    def __call__(self, function: F) -> F:
        """Monitor every call of ``function`` (a function, method, coroutine function)."""
        target: Any = getattr(function, "__func__", function)  # a staticmethod or classmethod
        if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
            raise TypeError(
                f"monitorkit.monitor({self.name!r}) cannot decorate the generator function "
                f"{getattr(target, '__qualname__', target)!r}: calling it only creates the "
                "generator. Put `with monitorkit.monitor(...)` inside its body, or decorate the "
                "function that consumes it."
            )
        if not callable(target):
            raise TypeError(
                f"monitorkit.monitor({self.name!r}) decorates a callable, not {function!r}"
            )
        wrapper = self._call_async if inspect.iscoroutinefunction(target) else self._call_sync
        return cast(F, wrapt.FunctionWrapper(function, wrapper))

    def _call_sync(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        return _monitored_call(wrapped, FunctionMonitor(self), args, kwargs)

    async def _call_async(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        monitor = FunctionMonitor(self)
        run = monitor.monitor_begin((), {})
        if run is None:
            return await wrapped(*args, **kwargs)
        if run.refused is not None:
            return monitor.monitor_refused(run)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            await monitor.monitor_end_async(run, exc)
            raise
        await monitor.monitor_end_async(run, None)
        return result

    # The context manager.
    def __enter__(self) -> RunHandle:
        return self._open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        monitor, run = self._close()
        if run is not None:
            monitor.monitor_end(run, exc)

    async def __aenter__(self) -> RunHandle:
        return self._open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        monitor, run = self._close()
        if run is not None:
            await monitor.monitor_end_async(run, exc)

    def _open(self) -> RunHandle:
        monitor = FunctionMonitor(self)
        run = monitor.monitor_begin((), {})
        if run is not None and run.refused is not None:  # a block cannot be skipped: it fails
            from .concurrency import RunRefused

            raise RunRefused(run.refused.message)
        _open_blocks.set((*_open_blocks.get(), (self, monitor, run)))
        return RunHandle(monitor if run is not None else None, run)

    def _close(self) -> tuple[FunctionMonitor, MonitoredRun | None]:
        """Take this declaration's innermost open block of this context off the stack."""
        blocks = _open_blocks.get()
        for index in range(len(blocks) - 1, -1, -1):
            if blocks[index][0] is self:
                _open_blocks.set(blocks[:index] + blocks[index + 1 :])
                return blocks[index][1], blocks[index][2]
        # Exited in another context than entered in: a generator resumed elsewhere, by hand.
        logger.warning("monitorkit: monitor %r was exited but never entered here", self.name)
        return FunctionMonitor(self), None


WRAPPER_CODES.add(Monitor._call_async.__code__)


#: ``monitorkit.monitor``: the class itself, as sentry-python's ``monitor`` is.
monitor = Monitor
