"""Each channel's delivery of one alert: its state, its retries, and the words that report it.

A transition's alert goes out through every configured notifier (a *channel*: ``email``,
``webhook``, ``webhook-2``...). Each channel's delivery is stored with the transition as a
:class:`Delivery`, so that one channel that fails neither hides the ones that delivered nor
stops them:

- ``sent``: delivered; the channel is never sent this transition again.
- ``pending``: tried and failed; tried again by the first watcher cycle from ``retry_at`` on.
  The first retry waits :data:`FIRST_RETRY` seconds, each later one twice as long as the one
  before (30 s, 1 min, 2 min, 4 min...), until ``MONITORKIT_ALERT_RETRY_FOR`` seconds (an hour)
  after the first try, when it is tried a last time and then given up.
- ``failed``: given up (or the channel is not configured any more).
- ``superseded``: still pending when a later transition of the command id replaced this one;
  not sent any more (the news is stale).

The transition's own alert state follows from its deliveries (:func:`alert_state`): ``sent``
when every channel delivered, ``retrying`` while one waits for a retry, ``partial`` when some
delivered and the others were given up, ``failed`` when none delivered. Pure values and
words: no Django, no store.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .record import format_timestamp, parse_timestamp
from .redaction import redact


class _Word(str, enum.Enum):
    """A stored word: equal to, and hashed as, its value (a row or JSON gives back ``str``)."""

    def __str__(self) -> str:
        return str(self._value_)

    def __hash__(self) -> int:
        return str.__hash__(self)


class DeliveryState(_Word):
    """Where one channel's delivery of one transition is."""

    SENT = "sent"
    """The channel took it."""
    PENDING = "pending"
    """It failed; the channel is tried again at ``retry_at``."""
    FAILED = "failed"
    """Given up: ``MONITORKIT_ALERT_RETRY_FOR`` ran out, or the channel cannot take it."""
    SUPERSEDED = "superseded"
    """A later transition of the command came before its retry; never sent."""


class AlertState(_Word):
    """Where a transition's alert is, across its channels (the ``alert`` of a stored row)."""

    PENDING = "pending"
    """To be sent (or judged not worth sending) by the next cycle."""
    WAITING = "waiting"
    """``FAILING`` below its command's ``alert_after``: looked at again each cycle."""
    SENDING = "sending"
    """Claimed by a watcher, until its lease runs out."""
    RETRYING = "retrying"
    """A channel failed and waits for its retry (its delivery says when)."""
    SENT = "sent"
    """Every channel delivered."""
    PARTIAL = "partial"
    """Some channels delivered; the others were given up or superseded."""
    FAILED = "failed"
    """No channel delivered, and none will be tried again."""
    NONE = "none"
    """Nothing to send (muted, ``LATE``, a recovery nobody was told of, superseded)."""


SENT = DeliveryState.SENT
PENDING = DeliveryState.PENDING
FAILED = DeliveryState.FAILED
SUPERSEDED = DeliveryState.SUPERSEDED

#: Seconds before a failed channel is tried again the first time; each later wait doubles.
FIRST_RETRY = 30.0
#: Characters of a notifier's error kept with the delivery (the start, where it says what).
ERROR_CHARS = 500


@dataclass(frozen=True)
class Delivery:
    """One channel's delivery of one transition's alert."""

    state: DeliveryState
    attempts: int = 0
    first_try: dt.datetime | None = None
    last_try: dt.datetime | None = None
    retry_at: dt.datetime | None = None
    """When a ``pending`` delivery is tried again."""
    error: str = ""
    """What the notifier said the last time it failed (redacted)."""

    def is_due(self, now: dt.datetime) -> bool:
        """Return whether a cycle at ``now`` should try this channel."""
        return self.state == PENDING and (self.retry_at is None or self.retry_at <= now)

    def as_dict(self) -> dict[str, Any]:
        """Return the stored form (timestamps as strings)."""
        return {
            "state": self.state.value,
            "attempts": self.attempts,
            "first_try": format_timestamp(self.first_try),
            "last_try": format_timestamp(self.last_try),
            "retry_at": format_timestamp(self.retry_at),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Delivery | None:
        """Return the delivery stored as ``data``, or ``None`` for what is not one."""
        if not isinstance(data, Mapping) or not isinstance(data.get("state"), str):
            return None
        try:
            return cls(
                state=DeliveryState(data["state"]),
                attempts=int(data.get("attempts") or 0),
                first_try=parse_timestamp(data.get("first_try")),
                last_try=parse_timestamp(data.get("last_try")),
                retry_at=parse_timestamp(data.get("retry_at")),
                error=str(data.get("error") or ""),
            )
        except (TypeError, ValueError):
            return None


Deliveries = dict[str, Delivery]


def read_deliveries(data: Any) -> Deliveries:
    """Return the deliveries stored as ``data`` (a dict by channel; anything else: none)."""
    if not isinstance(data, Mapping):
        return {}
    found = {str(name): Delivery.from_dict(value) for name, value in data.items()}
    return {name: delivery for name, delivery in found.items() if delivery is not None}


def stored_deliveries(deliveries: Mapping[str, Delivery]) -> dict[str, Any]:
    """Return the stored form of ``deliveries``."""
    return {name: delivery.as_dict() for name, delivery in deliveries.items()}


def after_attempt(
    before: Delivery | None, now: dt.datetime, error: str | None, retry_for: float
) -> Delivery:
    """Return a channel's delivery after a try at ``now`` (``error``: ``None`` if delivered)."""
    attempts = (before.attempts if before is not None else 0) + 1
    first = before.first_try if before is not None and before.first_try else now
    if error is None:
        return Delivery(SENT, attempts, first, now)
    error = redact(error)[:ERROR_CHARS]
    deadline = first + dt.timedelta(seconds=retry_for)
    if now >= deadline:
        return Delivery(FAILED, attempts, first, now, None, error)
    wait = dt.timedelta(seconds=FIRST_RETRY * 2 ** (attempts - 1))
    return Delivery(PENDING, attempts, first, now, min(now + wait, deadline), error)


def gone(before: Delivery, now: dt.datetime) -> Delivery:
    """Return a pending delivery given up because its channel is no longer configured."""
    why = "the channel is not configured any more (MONITORKIT_ALERTS)"
    return replace(before, state=FAILED, retry_at=None, last_try=now, error=why)


def superseded(deliveries: Mapping[str, Delivery]) -> Deliveries:
    """Return ``deliveries`` with every pending one marked ``superseded``."""
    return {
        name: replace(d, state=SUPERSEDED, retry_at=None) if d.state == PENDING else d
        for name, d in deliveries.items()
    }


def alert_state(deliveries: Mapping[str, Delivery]) -> AlertState:
    """Return the transition's alert state from its channels' deliveries (module docstring)."""
    states = {d.state for d in deliveries.values()}
    if PENDING in states:
        return AlertState.RETRYING
    if states == {SENT}:
        return AlertState.SENT
    return AlertState.PARTIAL if SENT in states else AlertState.FAILED


def describe(deliveries: Mapping[str, Delivery]) -> str:
    """Return the deliveries in a line, e.g. ``sent by webhook; failed on email (will retry
    at 2026-11-30T12:01:30.000000Z, attempt 1): ...``. Channels appear in sorted order."""
    parts = []
    sent = sorted(name for name, d in deliveries.items() if d.state == SENT)
    if sent:
        parts.append("sent by " + ", ".join(sent))
    for name in sorted(deliveries):
        d = deliveries[name]
        if d.state == PENDING:
            when = format_timestamp(d.retry_at)
            parts.append(f"failed on {name} (will retry at {when}, attempt {d.attempts})")
        elif d.state == FAILED:
            parts.append(f"failed on {name} (gave up after {_attempts(d.attempts)})")
        elif d.state == SUPERSEDED:
            parts.append(f"not sent to {name} (superseded after {_attempts(d.attempts)})")
        else:
            continue
        if d.error:
            parts[-1] += f": {d.error}"
    return "; ".join(parts) or "nothing sent"


def describe_cycle(sent: list[str], retrying: list[str], given_up: list[str]) -> str:
    """Return what one cycle's tries of one alert did: ``sent by webhook, failed on email
    (will retry)``."""
    parts = []
    if sent:
        parts.append("sent by " + ", ".join(sent))
    if retrying:
        parts.append("failed on " + ", ".join(retrying) + " (will retry)")
    if given_up:
        parts.append("failed on " + ", ".join(given_up) + " (gave up)")
    return ", ".join(parts) or "nothing tried"


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"
