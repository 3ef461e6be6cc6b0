"""The root of every monitorkit mixin: it wraps the monitored method and runs the steps.

``MonitorMixin`` wraps ``handle`` (or ``monitor_method_name``) where a class defines it, so
signature, name and docstring survive and ``super().handle()`` chains still record one run per
call. A plain function is wrapped by a plain function (:func:`wrap_method`); anything else a
class may hold there (a ``staticmethod``, a callable object, another library's descriptor) by
``wrapt.FunctionWrapper``, which knows how each of those binds. Around the call it asks the
other mixins, through cooperative hooks that all end here, for the run's identity
(``get_monitor_identity``), reporters (``get_monitor_reporters``), metadata
(``get_monitor_metadata``), what to do as the run starts and ends (``monitor_run_started`` /
``monitor_run_ending``) and the outcome (``monitor_outcome``). Everything it does is caught
at this one boundary and logged on the ``monitorkit`` logger: the user's exceptions pass
through untouched, ours never do.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from types import CodeType, FunctionType, MethodType
from typing import Any, ClassVar

from ..cleaning import error_message
from ..conf import (
    DATABASE_STORE,
    FIREBASE_STORE,
    SCHEDULES,
    MonitorSettings,
    monitor_settings,
    warn_once,
)
from ..naming import sanitize_key
from ..record import Identity, Outcome, Status
from ..recording.run import MonitoredRun
from ..stores.base import Reporter

logger = logging.getLogger("monitorkit")


def declared_in_schedules(command_id: str, keys: Sequence[str]) -> dict[str, Any]:
    """Return the ``keys`` that ``MONITORKIT_SCHEDULES`` declares for ``command_id``.

    For the mixins whose keys a command may also declare there (expectations, concurrency),
    read at each run's start. Only an entry that declares one of ``keys`` has its key made a
    command id: most entries declare schedules, and most commands none of these keys.
    """
    found: dict[str, Any] = {}
    for key, values in SCHEDULES.value().items():  # a setting of the wrong shape reads as {}
        if not isinstance(key, str) or not isinstance(values, Mapping):
            continue
        declared = {name: values[name] for name in keys if values.get(name) is not None}
        if declared and sanitize_key(key) == command_id:
            found.update(declared)
    return found


def _monitored_call(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run the wrapped method as one monitored run (its frame and the wrapper's are ours)."""
    if instance is None or not isinstance(instance, MonitorMixin):
        return wrapped(*args, **kwargs)
    run = instance.monitor_begin(args, kwargs)
    if run is None:
        return wrapped(*args, **kwargs)
    if run.refused is not None:  # the concurrency policy said no: the method is not called
        return instance.monitor_refused(run)
    if instance._monitor_executing:  # called by execute: the run ends when execute does
        instance._monitor_deferred_run = run
        return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        instance.monitor_end(run, exc)
        raise
    instance.monitor_end(run, None)
    return result


def _monitored_execute(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run ``BaseCommand.execute`` so that the run ends with it, not with ``handle``.

    What ``execute`` does after ``handle`` belongs to the run: a ``handle`` that returns an
    ``int`` makes ``execute`` fail writing it, and the process exits 1; the record must say so.
    """
    if instance is None or not isinstance(instance, MonitorMixin) or instance._monitor_executing:
        return wrapped(*args, **kwargs)
    instance._monitor_executing = True
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        instance._monitor_executing = False
        instance.monitor_end_deferred(exc)
        raise
    instance._monitor_executing = False
    instance.monitor_end_deferred(None)
    return result


#: ``(wrapped, instance, args, kwargs) -> result``: the calling convention of ``wrapt``.
Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]
#: The attribute of a plain-function wrapper that names the wrapper it calls.
_WRAPPER_ATTRIBUTE = "_monitorkit_wrapper"
#: Stores written by their own mixins (``mixins/reporting.py``) when they are the store.
BUILT_IN_STORES = frozenset({DATABASE_STORE, FIREBASE_STORE})


def wrap_method(method: Any, wrapper: Wrapper) -> Any:
    """Return what replaces ``method`` in a class so that every call goes through ``wrapper``.

    Almost every monitored method is a plain function: it gets a plain function, which binds as
    a method does, keeps name, docstring and signature (``functools.wraps`` sets
    ``__wrapped__``), and costs nothing to import. ``wrapt`` does the same for everything else;
    importing it costs a command about 10 ms (wrapt 2 imports ``importlib.metadata``, ``zipfile``
    and ``csv``), which is why only such classes pay it (issue 16: the tax on every command).
    """
    if not isinstance(method, FunctionType):
        import wrapt

        return wrapt.FunctionWrapper(method, wrapper)

    @functools.wraps(method)
    def monitored(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        return wrapper(MethodType(method, self), self, args, kwargs)

    setattr(monitored, _WRAPPER_ATTRIBUTE, wrapper)
    return monitored


def _wrapper_of(function: Any) -> Any:
    """Return the wrapper a monitorkit wrapper calls (None for anything else)."""
    if isinstance(function, FunctionType):
        return function.__dict__.get(_WRAPPER_ATTRIBUTE)
    return getattr(function, "_self_wrapper", None)  # a wrapt.FunctionWrapper


def _plain_wrapper_code() -> CodeType:
    wrapper: FunctionType = wrap_method(lambda self: None, _monitored_call)
    return wrapper.__code__


#: Our wrappers' code objects: their frames are left out of a stored traceback (other wrappers
#: of the package, like ``monitorkit/decorators.py``'s, add theirs at import).
WRAPPER_CODES: set[CodeType] = {
    _monitored_call.__code__,
    _monitored_execute.__code__,
    _plain_wrapper_code(),
}


def is_monitored(function: Any) -> bool:
    """Return whether ``function`` is already wrapped by monitorkit."""
    return _wrapper_of(function) in (_monitored_call, _monitored_execute)


def _wraps_execute(cls: type) -> bool:
    """Return whether runs of ``cls`` end with ``execute`` (a management command's handle)."""
    from django.core.management.base import BaseCommand

    return cls.monitor_method_name == "handle" and issubclass(cls, BaseCommand)  # type: ignore[attr-defined]


def _inherited_attribute(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


class MonitorMixin:
    """Wrap the monitored method and drive a run through its steps."""

    monitor_method_name: ClassVar[str] = "handle"
    """The method each call of which is one run."""
    monitor_extra_metadata: ClassVar[dict[str, Any] | None] = None
    """Metadata added to every record (merged last, like ``extra_context``)."""
    monitor_reporter_classes: ClassVar[tuple[type[Reporter], ...]] = ()
    """Reporter classes added to every run of this class."""
    monitor_settings: ClassVar[MonitorSettings] = monitor_settings
    """Settings source; tests and unusual projects may swap it."""

    _monitor_run: MonitoredRun | None = None
    _monitor_executing: bool = False
    _monitor_deferred_run: MonitoredRun | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.monitor_method_name
        method = _inherited_attribute(cls, name)
        if method is not None and not is_monitored(method):
            # Wrap where the class defines the method itself, or where it inherits one from a
            # class that is not monitored (a plain base class, or BaseCommand.handle).
            setattr(cls, name, wrap_method(method, _monitored_call))
        execute = _inherited_attribute(cls, "execute")
        if execute is not None and not is_monitored(execute) and _wraps_execute(cls):
            cls.execute = wrap_method(execute, _monitored_execute)  # type: ignore[attr-defined]

    # The steps, called by the wrapper.
    def monitor_begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> MonitoredRun | None:
        """Start a run for this call, or return ``None`` to call straight through."""
        if self._monitor_run is not None:
            return None  # a super().handle() chain: the outer call is the run
        try:
            if not self.monitor_is_enabled(args, kwargs):
                return None
            warn_once()
            reporters = self.get_monitor_reporters()
            if not reporters:
                return None
            identity = self.get_monitor_identity(args, kwargs)
            run = MonitoredRun(identity, reporters, self.monitor_settings)
            refusal = self.monitor_admission(run)
            if refusal is not None:
                self._monitor_refuse(run, refusal)
                return run
            scheduled = getattr(self, "monitor_schedule", None) is not None
            run.start(self._monitor_collect_metadata(), WatcherLook(reporters, scheduled))
        except Exception:
            logger.exception("monitorkit could not start monitoring %s", type(self).__name__)
            return None
        # From here on the run exists: whatever fails, monitor_end must still close it.
        self._monitor_run = run
        try:
            self.monitor_run_started(run)
        except Exception:
            logger.exception("monitorkit: a run-started hook of %s failed", type(self).__name__)
        return run

    def _monitor_refuse(self, run: MonitoredRun, refusal: Outcome) -> None:
        """Store the refused start (flushed within the flush bound) and let its reporters go.

        The refusal stands even when its record cannot be stored: the store said another run
        holds the lease, and a second run beside it is what the policy forbids.
        """
        run.refused = refusal
        try:
            run.refuse(refusal, self._monitor_collect_metadata())
        except Exception:
            logger.exception("monitorkit could not record the refused start of %s", run.record.id)
        finally:
            run.release()

    def monitor_refused(self, run: MonitoredRun) -> None:
        """Return from a refused call: ``None`` (skip, exit 0), or raise ``RunRefused`` (fail).

        The refusal's exit code says which (``monitorkit/concurrency.py``).
        """
        refusal = run.refused
        if refusal is not None and refusal.exit_code:
            from ..concurrency import RunRefused

            raise RunRefused(refusal.message)

    def monitor_end_deferred(self, error: BaseException | None) -> None:
        """End the run ``handle`` began inside ``execute``, with how ``execute`` ended."""
        run, self._monitor_deferred_run = self._monitor_deferred_run, None
        if run is not None:
            self.monitor_end(run, error)

    def monitor_end(self, run: MonitoredRun, error: BaseException | None) -> None:
        """Record the outcome of the run and flush, within the flush bound."""
        try:
            self.monitor_finish(run, error)
            run.flush()
        except Exception:
            logger.exception("monitorkit could not record the end of %s", run.record.id)
        finally:
            self.monitor_close(run)

    def monitor_finish(self, run: MonitoredRun, error: BaseException | None) -> None:
        """Stop what the run started and record its outcome (``monitor_end`` before the flush).

        Separate so that a coroutine's run can flush in a worker thread in between, while this
        and :meth:`monitor_close` stay in the context and on the thread the run began in.
        """
        try:
            self.monitor_run_ending(run)
        finally:
            self._monitor_run = None
        run.finish(self.monitor_outcome(error), self._monitor_collect_metadata())

    def monitor_close(self, run: MonitoredRun) -> None:
        """Undo what must outlive the outcome, and let the reporters go (after the flush)."""
        try:
            self.monitor_run_closed(run)
        except Exception:
            logger.exception("monitorkit: a run-closed hook of %s failed", type(self).__name__)
        run.release()

    def _monitor_collect_metadata(self) -> dict[str, Any] | None:
        """Call the metadata hook; a failing user hook costs its fields, never the run."""
        try:
            return self.get_monitor_metadata()
        except Exception:
            logger.exception("monitorkit: get_monitor_metadata() of %s failed", type(self).__name__)
            return None

    # Hooks: each mixin extends these and calls super(); the chains end here.
    def monitor_is_enabled(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Return whether this call is monitored at all."""
        return self.monitor_settings.enabled

    def get_monitor_identity(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Identity:
        """Return the run's command id, name and params (the class name, by default)."""
        name = type(self).__name__
        return Identity(id=sanitize_key(name), name=name, params="")

    def get_monitor_reporters(self) -> list[Reporter]:
        """Return the reporters for this run; reporter mixins append theirs and call super."""

        reporters = [cls(self.monitor_settings) for cls in self.monitor_reporter_classes]
        paths = list(self.monitor_settings.extra_reporters)
        store = self.monitor_settings.store  # the built-in stores have their own mixins
        if store is not None and store not in BUILT_IN_STORES and store not in paths:
            paths.insert(0, store)
        if paths:
            from ..stores import import_reporters

            reporters += import_reporters(paths, self.monitor_settings)
        return reporters

    def get_monitor_metadata(self, **metadata: Any) -> dict[str, Any]:
        """Return the metadata stored with every record of this run (end of the chain)."""
        if self.monitor_extra_metadata:
            metadata.update(self.monitor_extra_metadata)
        return metadata

    def monitor_admission(self, run: MonitoredRun) -> Outcome | None:
        """Return the outcome of a start refused before it runs (``None``: it runs).

        Called before the run's first record; ``ConcurrencyMixin`` takes a lease here.
        """
        return None

    def monitor_run_started(self, run: MonitoredRun) -> None:
        """Act once the run has started (heartbeat, signal handlers...)."""

    def monitor_run_ending(self, run: MonitoredRun) -> None:
        """Undo what ``monitor_run_started`` did, before the outcome is recorded."""

    def monitor_run_closed(self, run: MonitoredRun) -> None:
        """Undo, after the run's last flush, what must outlive the outcome (signal handlers)."""

    def monitor_outcome(self, error: BaseException | None) -> Outcome:
        """Return how the call ended (plain, by default; ``FailureCaptureMixin`` says more)."""
        if error is None:
            return Outcome(Status.FINISHED, "Command finished", exit_code=0)
        return Outcome(Status.FAILED, error_message(error), exit_code=1)


class WatcherLook:
    """The run's one look at the watcher, for its sender's thread to take (``sender.py``).

    ``health/watcher.py`` is imported on that thread, never on the command's path: by
    :meth:`prepare`, which the sender calls as soon as it is handed the look, before the run's
    first write. Not later: the look itself waits for that write, which on SQLite can wait for
    the command's own long query, so it could fall on the moment the command exits; and an
    import that builds dataclasses (``exec`` of a string) on another thread at that moment
    makes CPython before 3.14 forget an uncaught ``KeyboardInterrupt`` (python/cpython#128130):
    the process exited 1 instead of by SIGINT, unlike its unmonitored twin.
    """

    def __init__(self, reporters: Sequence[Reporter], scheduled: bool) -> None:
        self.reporters = reporters
        self.scheduled = scheduled  # the command's class declares a schedule
        self.expected: bool | None = None  # known once prepared

    def prepare(self) -> None:
        """Say whether a watcher is expected here; only then import what the look runs, and
        each store's health module (no I/O). A project with no schedule and no alerts imports
        nothing of the watcher's health: most of its commands' processes would pay for it."""
        from ..health.expected import watcher_expected_here

        self.expected = watcher_expected_here(self.scheduled)
        if not self.expected:
            return
        from ..health import watcher  # noqa: F401 - imported here, not when the look is taken

        for reporter in self.reporters:
            reporter.health_store()

    def __call__(self) -> None:
        if self.expected is None:
            self.prepare()
        if not self.expected:
            return
        from ..health.watcher import warn_if_silent

        warn_if_silent(self.reporters, self.scheduled)
