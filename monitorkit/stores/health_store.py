"""The watcher's side of a store: each command id's health, its transitions and their alerts.

A store that can be watched (the database, Firebase) returns one of these from
``Reporter.health_store()``. The watcher (``monitorkit/health/watch.py``) is the only caller, and it
may run on several hosts at once: every write that decides something is *conditional*, so that
of two watchers that see the same change, exactly one stores it (and so exactly one alerts).

- ``record_transition`` moves a command id's state from the ``number`` it had to the next one
  and stores the transition under that number, in one step that fails for the second watcher
  (a unique constraint in the database, a create-only conditional write in Firebase).
- ``claim_alert`` takes an alert for sending under a lease; a watcher killed while sending
  leaves a claim that expires, and the next cycle takes the alert again.
- ``settle_alert`` stores each channel's delivery (``monitorkit/delivery.py``) with the
  alert's state: an alert ``retrying`` on one channel stays open, and is claimed again by the
  cycle that retries it.
- ``record_cycle`` stores the watcher's own heartbeat, one record per watcher (each writes only
  its own, so watchers never conflict); ``last_cycle`` returns the newest of them, which every
  reader judges (``monitorkit/health/watcher.py``).
- ``add_snooze`` stores a snooze (``monitorkit/snoozes.py``) unless one of its id exists, so
  the occurrence of a maintenance window that two watchers store is one snooze; ``end_snooze``
  brings its end forward, ``close_snooze`` marks its summaries sent. A summary itself is a
  transition (``record_transition``), sent as any alert: exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..delivery import SENT as DELIVERED
from ..delivery import AlertState, Deliveries, Delivery, alert_state, describe, superseded
from ..record import RunRecord
from ..snoozes import Snooze
from ..transitions import Transition

#: Alert states of a transition (``delivery.AlertState``), by their names here too.
PENDING = AlertState.PENDING
WAITING = AlertState.WAITING
SENDING = AlertState.SENDING
RETRYING = AlertState.RETRYING
SENT = AlertState.SENT
PARTIAL = AlertState.PARTIAL
FAILED = AlertState.FAILED
NONE = AlertState.NONE
OPEN = (PENDING, WAITING, SENDING, RETRYING)
#: Open states a watcher may claim (``sending`` too, once its lease ran out).
CLAIMABLE = (PENDING, WAITING, RETRYING)
SUPERSEDED = "superseded by a later transition"

#: Transitions kept per command id, in every store.
KEPT_TRANSITIONS = 100
#: How long the beat of a watcher that stopped is kept once a newer beat exists (the newest
#: is always kept, however old): a restarted watcher is a new watcher, with a new record.
BEATS_KEPT_FOR = dt.timedelta(days=1)


@dataclass(frozen=True)
class HealthState:
    """What the watcher last concluded about one command id."""

    command_id: str
    health: str
    since: dt.datetime
    first_seen: dt.datetime
    number: int = 0
    """Transitions stored so far: the version a conditional write moves on from."""
    next_expected: dt.datetime | None = None
    last_success: dt.datetime | None = None
    """When the newest ``FINISHED`` run the watcher saw finished (kept past retention)."""
    last_failure: dt.datetime | None = None
    """When the newest ``FAILED`` or ``SYSTEM_KILL`` run the watcher saw ended."""
    last_completion: dt.datetime | None = None
    """When the newest run with an outcome (any of those) the watcher saw ended."""

    def outcomes(self) -> tuple[dt.datetime | None, dt.datetime | None, dt.datetime | None]:
        """Return ``(last_success, last_failure, last_completion)``."""
        return (self.last_success, self.last_failure, self.last_completion)

    def outcome_times(self) -> dict[str, dt.datetime | None]:
        """Return the times kept past retention by field name (:data:`OUTCOME_TIMES`), for a
        store to write each with its own converter."""
        return dict(zip(OUTCOME_TIMES, self.outcomes(), strict=True))

    def with_runs(self, runs: Sequence[RunRecord]) -> HealthState:
        """Return the state with its last success, failure and completion moved on to the
        newest of ``runs`` (never back: a run pushed out of retention keeps its time here)."""
        success, failure, completion = self.outcomes()
        for run in runs:
            status = str(run.status)
            if status in OUTCOMES:
                ended = run.finished or run.latest or run.started
                completion = _later(completion, ended)
                if status == "FINISHED":
                    success = _later(success, ended)
                else:
                    failure = _later(failure, ended)
        if (success, failure, completion) == self.outcomes():
            return self
        return replace(self, last_success=success, last_failure=failure, last_completion=completion)


#: The fields of :class:`HealthState` that keep when runs last ended, past the runs' retention.
OUTCOME_TIMES = ("last_success", "last_failure", "last_completion")
#: The statuses of a run that ended by itself: ``FINISHED`` a success, the others failures.
OUTCOMES = frozenset({"FINISHED", "FAILED", "SYSTEM_KILL"})


def _later(stored: dt.datetime | None, seen: dt.datetime) -> dt.datetime:
    return seen if stored is None or seen > stored else stored


@dataclass(frozen=True)
class WatcherBeat:
    """One watcher's latest cycle: who ran it, when it ended, and when the next one is due."""

    watcher: str
    """The watcher's own id: new for each ``monitor_watch`` loop, one per host for ``--once``."""
    host: str
    pid: int | None
    at: dt.datetime
    """When the cycle ended."""
    interval: float | None
    """Seconds its loop waits between cycles; ``None`` for ``--once`` (cron's period unknown)."""
    scheduled: int = 0
    """Command ids with a schedule the cycle judged."""


@dataclass(frozen=True)
class OpenAlert:
    """A transition whose alert is not settled yet."""

    transition: Transition
    number: int
    state: str
    claimed_at: dt.datetime | None = None
    deliveries: Mapping[str, Delivery] = field(default_factory=dict)
    """Each channel's delivery so far (none before the first try)."""


@dataclass(frozen=True)
class StoredAlert:
    """A transition's alert as stored: what a recovery asks of its problem's alert."""

    state: str
    deliveries: Mapping[str, Delivery] = field(default_factory=dict)
    claimed_at: dt.datetime | None = None
    """Set while a watcher sends it (and kept if a later transition superseded it meanwhile)."""

    def told(self) -> list[str] | None:
        """Return the channels that delivered it; ``None``: all (stored before per-channel
        deliveries, as ``sent``)."""
        if not self.deliveries:
            return None if self.state == SENT else []
        return sorted(name for name, d in self.deliveries.items() if d.state == DELIVERED)


def delivered_at(
    state: str, deliveries: Mapping[str, Delivery] | None, now: dt.datetime
) -> dt.datetime | None:
    """Return ``now`` when a settle at ``now`` records a delivery (``alerted_at``)."""
    if deliveries is None:
        return now if state == SENT else None
    sent_now = any(d.state == DELIVERED and d.last_try == now for d in deliveries.values())
    return now if sent_now else None


def supersede(deliveries: Mapping[str, Delivery]) -> tuple[str, str, Deliveries]:
    """Return the state, detail and deliveries of an open alert that a later transition replaced.

    Channels that delivered stay ``sent`` (a recovery goes to them); pending ones are not
    tried any more.
    """
    if not deliveries:
        return NONE, SUPERSEDED, {}
    after = superseded(deliveries)
    settled = alert_state(after)
    return (settled if settled != FAILED else NONE), f"{describe(after)}; {SUPERSEDED}", after


class HealthStore:
    """Base class of health stores; subclasses implement every method."""

    def states(self) -> dict[str, HealthState]:
        """Return the stored state of every command id the watcher has seen."""
        raise NotImplementedError(f"{type(self).__name__} must define states().")

    def record_first_sight(self, state: HealthState) -> None:
        """Store the state of a command id seen for the first time (``number`` 0).

        Leaves an existing state alone: of two watchers, the first to store it wins, and its
        ``first_seen`` is the one every later cycle counts from.
        """
        raise NotImplementedError(f"{type(self).__name__} must define record_first_sight().")

    def record_transition(
        self, before: HealthState, after: HealthState, transition: Transition, alert: str
    ) -> bool:
        """Store ``transition`` as number ``after.number`` and move the state to ``after``.

        ``after.number`` is ``before.number + 1``. Returns ``False``, storing nothing, when
        another watcher stored that number first. The command id's earlier open alert, if
        any, is settled ``none`` (superseded) in the same step.
        """
        raise NotImplementedError(f"{type(self).__name__} must define record_transition().")

    def update_state(self, state: HealthState) -> None:
        """Refresh a state without a transition (its ``next_expected`` and its last success,
        failure and completion); no condition."""
        raise NotImplementedError(f"{type(self).__name__} must define update_state().")

    def open_alerts(self) -> list[OpenAlert]:
        """Return every transition whose alert is pending, waiting or being sent."""
        raise NotImplementedError(f"{type(self).__name__} must define open_alerts().")

    def claim_alert(self, alert: OpenAlert, now: dt.datetime, lease: float) -> bool:
        """Take ``alert`` for sending, unless another watcher holds an unexpired claim."""
        raise NotImplementedError(f"{type(self).__name__} must define claim_alert().")

    def settle_alert(
        self,
        alert: OpenAlert,
        state: str,
        detail: str,
        now: dt.datetime,
        deliveries: Mapping[str, Delivery] | None = None,
    ) -> None:
        """Set the alert's state (final, or ``waiting``/``retrying``), with what the notifiers
        said and, when given, each channel's delivery.

        An open state is written only while this watcher's claim holds the alert: one that a
        later transition superseded meanwhile is settled as :func:`supersede` says instead.
        """
        raise NotImplementedError(f"{type(self).__name__} must define settle_alert().")

    def alert(self, command_id: str, number: int) -> StoredAlert | None:
        """Return the alert of transition ``number`` of ``command_id`` (``None``: not kept)."""
        raise NotImplementedError(f"{type(self).__name__} must define alert().")

    def transitions(self, command_id: str, limit: int = 20) -> list[tuple[int, Transition, str]]:
        """Return a command id's stored transitions, newest first: (number, transition, alert)."""
        raise NotImplementedError(f"{type(self).__name__} must define transitions().")

    def record_cycle(self, beat: WatcherBeat) -> None:
        """Store ``beat`` as its watcher's latest (replacing that watcher's earlier one), and
        forget other watchers' beats older than :data:`BEATS_KEPT_FOR` before it; no condition."""
        raise NotImplementedError(f"{type(self).__name__} must define record_cycle().")

    def last_cycle(self) -> WatcherBeat | None:
        """Return the newest beat of any watcher (``None``: no watcher has run a cycle here)."""
        raise NotImplementedError(f"{type(self).__name__} must define last_cycle().")

    def snoozes(self) -> list[Snooze]:
        """Return every kept snooze (running, coming, or ended), soonest start first."""
        raise NotImplementedError(f"{type(self).__name__} must define snoozes().")

    def add_snooze(self, snooze: Snooze) -> bool:
        """Store ``snooze`` unless a snooze of its id exists; return whether this stored it.

        Create-only, so that every watcher storing one occurrence of a maintenance window (one
        id) stores one snooze, and its end, once brought forward, is never put back.
        """
        raise NotImplementedError(f"{type(self).__name__} must define add_snooze().")

    def end_snooze(self, snooze_id: str, at: dt.datetime) -> Snooze | None:
        """Bring the snooze's end forward to ``at`` (never back); return it as it is now
        (``None``: no such snooze)."""
        raise NotImplementedError(f"{type(self).__name__} must define end_snooze().")

    def close_snooze(self, snooze_id: str, at: dt.datetime) -> None:
        """Mark the snooze's summaries sent at ``at``, and forget snoozes closed more than
        :data:`~monitorkit.snoozes.KEPT_AFTER_END` before it; no condition (every summary is
        stored conditionally, and a watcher that closes twice writes the same)."""
        raise NotImplementedError(f"{type(self).__name__} must define close_snooze().")
