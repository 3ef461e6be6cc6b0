"""A snooze: alerts of the command ids a pattern matches are held from one time until another.

A plain value (no Django), like a transition: ``manage.py monitor_snooze``, the command page's
snooze button and the watcher (for each occurrence of a maintenance window of
``MONITORKIT_MAINTENANCE``, ``health/maintenance.py``) make one, every store keeps it
(``HealthStore.add_snooze``), and the watcher reads them each cycle (``health/silence.py``):
health is judged as ever, the alerts of a snoozed command id wait, and once the snooze ends one
summary of what happened meanwhile goes out per command id.
"""

from __future__ import annotations

import datetime as dt
import glob
import re
import uuid
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .record import format_timestamp, parse_timestamp

#: How long an ended snooze is kept once its summaries are out (``--list`` shows it meanwhile).
KEPT_AFTER_END = dt.timedelta(days=7)
#: The longest snooze: a snooze forgotten for a year silences nothing worth a person's time.
LONGEST = dt.timedelta(days=366)
#: ``30m``, ``2h``, ``1d``, ``90s``, ``1.5h`` or plain seconds (``3600``).
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """Return ``30m``, ``2h``, ``1d``, ``1w``, ``90s`` or seconds (``3600``) as a timedelta.

    Raises ``ValueError`` saying what is accepted; above zero, at most :data:`LONGEST`.
    """
    found = _DURATION.match(str(text))
    if found is None:
        raise ValueError(
            f"{text!r} is not a duration: use a number of seconds or one with a unit, "
            "e.g. 30m, 2h, 1d"
        )
    duration = dt.timedelta(seconds=float(found[1]) * _UNITS[found[2].lower()])
    if not dt.timedelta(0) < duration <= LONGEST:
        raise ValueError(f"{text!r} must be more than zero and at most {LONGEST.days} days")
    return duration


def exact_pattern(command_id: str) -> str:
    """Return the pattern that matches ``command_id`` alone (its ``*``, ``?`` and ``[`` escaped)."""
    return glob.escape(command_id)


@dataclass(frozen=True)
class Snooze:
    """Alerts of the command ids ``pattern`` matches (``fnmatch``) are held from ``start`` to
    ``until``; ``who`` set it and ``reason`` says why.

    ``id`` is new for a snooze a person sets, and derived from the window and its start for an
    occurrence of a maintenance window, so every watcher stores that one under one id.
    ``closed`` is when a watcher sent its summaries (``None``: not yet, or still running).
    """

    id: str
    pattern: str
    reason: str
    who: str
    start: dt.datetime
    until: dt.datetime
    closed: dt.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("start", "until", "closed"):
            value = getattr(self, name)
            if value is not None:
                if value.tzinfo is None:
                    raise ValueError(f"Snooze.{name} must be an aware datetime (UTC)")
                object.__setattr__(self, name, value.astimezone(dt.timezone.utc))

    def matches(self, command_id: str) -> bool:
        """Return whether this snooze is about ``command_id`` (case matters, as in ids)."""
        return fnmatchcase(command_id, self.pattern)

    def active(self, now: dt.datetime) -> bool:
        """Return whether alerts are held at ``now``."""
        return self.start <= now < self.until

    def ended(self, now: dt.datetime) -> bool:
        """Return whether it is over at ``now`` (its summaries are then due, if not sent)."""
        return self.until <= now

    def summary_id(self, command_id: str) -> str:
        """Return the id of this snooze's summary for ``command_id``: the snooze and its end,
        the same for every watcher."""
        return f"{command_id}:summary:{self.id}:{format_timestamp(self.until)}"

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form, as Firebase and the page's JSON keep it."""
        return {
            "id": self.id,
            "pattern": self.pattern,
            "reason": self.reason,
            "who": self.who,
            "start": format_timestamp(self.start),
            "until": format_timestamp(self.until),
            "closed": format_timestamp(self.closed),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snooze:
        """Build a snooze from its JSON form; ``ValueError`` (or ``KeyError``) when malformed."""
        start, until = parse_timestamp(data["start"]), parse_timestamp(data["until"])
        if start is None or until is None:
            raise ValueError("a stored snooze has no start or until")
        return cls(
            id=str(data["id"]),
            pattern=str(data["pattern"]),
            reason=str(data.get("reason") or ""),
            who=str(data.get("who") or ""),
            start=start,
            until=until,
            closed=parse_timestamp(data.get("closed")),
        )


def new_snooze(
    pattern: str, reason: str, who: str, start: dt.datetime, until: dt.datetime
) -> Snooze:
    """Return a snooze a person sets, under a new id."""
    return Snooze(uuid.uuid4().hex[:16], pattern, reason, who, start, until)


def active_for(snoozes: list[Snooze], command_id: str, now: dt.datetime) -> list[Snooze]:
    """Return the snoozes that hold ``command_id``'s alerts at ``now``, ending last first."""
    found = [s for s in snoozes if s.active(now) and s.matches(command_id)]
    return sorted(found, key=lambda s: s.until, reverse=True)


def snoozed_json(holding: list[Snooze]) -> dict[str, Any]:
    """Return whether snoozes (``active_for``'s) hold a command id's alerts, and until when.

    The same two keys on the overview, a command page, their JSON and ``monitor_status --json``.
    """
    return {
        "snoozed": bool(holding),
        "snoozed_until": format_timestamp(holding[0].until) if holding else None,
    }
