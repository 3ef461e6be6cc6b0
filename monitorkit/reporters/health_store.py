"""The watcher's side of a store: each command id's health, its transitions and their alerts.

A store that can be watched (the database, Firebase) returns one of these from
``Reporter.health_store()``. The watcher (``monitorkit/watch.py``) is the only caller, and it
may run on several hosts at once: every write that decides something is *conditional*, so that
of two watchers that see the same change, exactly one stores it (and so exactly one alerts).

- ``record_transition`` moves a command id's state from the ``number`` it had to the next one
  and stores the transition under that number, in one step that fails for the second watcher
  (a unique constraint in the database, a create-only conditional write in Firebase).
- ``claim_alert`` takes an alert for sending under a lease; a watcher killed while sending
  leaves a claim that expires, and the next cycle takes the alert again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..record import RunRecord
from ..transitions import Transition

#: Alert states of a transition.
PENDING = "pending"  # to be sent (or judged not worth sending) by the next cycle
WAITING = "waiting"  # FAILING below its command's alert_after: looked at again each cycle
SENDING = "sending"  # claimed by a watcher, until its lease runs out
SENT = "sent"
FAILED = "failed"  # every notifier was tried; at least one refused (detail says which)
NONE = "none"  # nothing to send (muted, LATE, a recovery nobody was told of, superseded)
OPEN = (PENDING, WAITING, SENDING)

#: Transitions kept per command id, in every store.
KEPT_TRANSITIONS = 100


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


@dataclass(frozen=True)
class OpenAlert:
    """A transition whose alert is not settled yet."""

    transition: Transition
    number: int
    state: str
    claimed_at: dt.datetime | None = None


class HealthStore:
    """Base class of health stores; subclasses implement every method."""

    def recent_runs(self, depth: int) -> dict[str, list[RunRecord]]:
        """Return the newest ``depth`` records of every command id, newest first."""
        raise NotImplementedError(f"{type(self).__name__} must define recent_runs(depth).")

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
        """Refresh a state without a transition (its ``next_expected``); no condition."""
        raise NotImplementedError(f"{type(self).__name__} must define update_state().")

    def open_alerts(self) -> list[OpenAlert]:
        """Return every transition whose alert is pending, waiting or being sent."""
        raise NotImplementedError(f"{type(self).__name__} must define open_alerts().")

    def claim_alert(self, alert: OpenAlert, now: dt.datetime, lease: float) -> bool:
        """Take ``alert`` for sending, unless another watcher holds an unexpired claim."""
        raise NotImplementedError(f"{type(self).__name__} must define claim_alert().")

    def settle_alert(self, alert: OpenAlert, state: str, detail: str, now: dt.datetime) -> None:
        """Set the alert's final (or ``waiting``) state, with what the notifiers said."""
        raise NotImplementedError(f"{type(self).__name__} must define settle_alert().")

    def transitions(self, command_id: str, limit: int = 20) -> list[tuple[int, Transition, str]]:
        """Return a command id's stored transitions, newest first: (number, transition, alert)."""
        raise NotImplementedError(f"{type(self).__name__} must define transitions().")

    def store_missed(self, record: RunRecord) -> None:
        """Store a ``MISSED`` record once, however often it is handed over (same ``run_id``)."""
        raise NotImplementedError(f"{type(self).__name__} must define store_missed().")
