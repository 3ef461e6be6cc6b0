"""Django signals for runs and for changes of health, so a project can plug in its own alerts.

Run events are sent by the sender's background thread, never by the command's own, and through
``send_robust``: a receiver that raises is logged on the ``monitorkit`` logger and changes
nothing about the command (its output, exit code or exit time beyond the flush bound). Health
transitions are sent by the watcher, the same way.

Every signal is sent with keyword arguments only. Run events (``sender`` is
:class:`~monitorkit.record.RunRecord`):

- ``record``: the :class:`~monitorkit.record.RunRecord` (a copy: changing it changes nothing
  stored);
- ``command_id``: the command id (``record.id``).

``run_started`` (status ``STARTED``), ``run_finished`` (``FINISHED``), ``run_failed``
(``FAILED``) and ``run_killed`` (``SYSTEM_KILL``). Heartbeats send nothing.

Health transitions (``sender`` is :class:`~monitorkit.transitions.Transition`):

- ``command_id``: the command id;
- ``previous`` and ``health``: the health before and after, as names (``"OK"``, ``"MISSED"``);
- ``transition``: the :class:`~monitorkit.transitions.Transition` itself;
- ``record``: the command's last run, or ``None`` when it never ran.

``command_late``, ``command_missed``, ``command_failing``, ``command_overrunning``,
``command_suspect`` (the last run missed its expectations) and ``command_stale`` are sent
when the health becomes that state; ``command_recovered`` when it leaves one of them for
``OK`` or ``RUNNING``. A filter by command is a test of ``command_id``
in the receiver: Django matches ``sender`` by identity, which two equal strings need not share.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

from .record import RunRecord

if TYPE_CHECKING:  # imported when a transition is sent: a command's run never needs it
    from .transitions import Transition

logger = logging.getLogger("monitorkit")

run_started = Signal()
run_finished = Signal()
run_failed = Signal()
run_killed = Signal()

command_late = Signal()
command_missed = Signal()
command_failing = Signal()
command_overrunning = Signal()
command_stale = Signal()
command_suspect = Signal()
command_recovered = Signal()

#: The run signal of each status (by its stored value); other statuses send none.
RUN_SIGNALS: dict[str, Signal] = {
    "STARTED": run_started,
    "FINISHED": run_finished,
    "FAILED": run_failed,
    "SYSTEM_KILL": run_killed,
}
#: The signal of each problem health.
HEALTH_SIGNALS: dict[str, Signal] = {
    "LATE": command_late,
    "MISSED": command_missed,
    "FAILING": command_failing,
    "OVERRUNNING": command_overrunning,
    "STALE": command_stale,
    "SUSPECT": command_suspect,
}

Responses = list[tuple[Any, Any]]


def run_signal(record: RunRecord) -> Signal | None:
    """Return the signal a record's status sends, or ``None`` (a heartbeat sends none)."""
    return RUN_SIGNALS.get(str(getattr(record.status, "value", record.status)))


def transition_signal(transition: Transition) -> Signal | None:
    """Return the signal a transition sends, or ``None`` (``OK`` to ``RUNNING`` sends none)."""
    if transition.is_recovery:
        return command_recovered
    return HEALTH_SIGNALS.get(transition.health)


def send_run_event(record: RunRecord) -> Responses:
    """Send the run signal of ``record``'s status; never raises. Return the responses.

    Called on the sender's thread. Receivers get a copy of the record, made only when
    someone listens.
    """
    signal = run_signal(record)
    if signal is None or not signal.has_listeners(RunRecord):
        return []
    return _send(signal, RunRecord, record.id, record=record.snapshot(), command_id=record.id)


def send_transition(transition: Transition) -> Responses:
    """Send the signal of ``transition``; never raises. Return the responses."""
    signal = transition_signal(transition)
    from .transitions import Transition

    if signal is None or not signal.has_listeners(Transition):
        return []
    return _send(
        signal,
        Transition,
        transition.command_id,
        command_id=transition.command_id,
        previous=transition.previous,
        health=transition.health,
        transition=transition,
        record=transition.record,
    )


def _send(signal: Signal, sender: type, about: str, **named: Any) -> Responses:
    """Send robustly and log each receiver that raised, with its traceback."""
    try:
        responses = signal.send_robust(sender, **named)
    except Exception:  # e.g. an async receiver with no event loop to run it
        logger.exception("monitorkit could not send a signal for %s", about)
        return []
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error(
                "monitorkit: a signal receiver %s raised for %s (ignored): %s: %s",
                _name(receiver),
                about,
                type(response).__name__,
                response,
                exc_info=(type(response), response, response.__traceback__),
            )
    return responses


def _name(receiver: Any) -> str:
    module = getattr(receiver, "__module__", None) or "?"
    return f"{module}.{getattr(receiver, '__qualname__', repr(receiver))}"
