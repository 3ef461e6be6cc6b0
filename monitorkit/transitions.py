"""A change of a command's health: what the watcher records, the signals carry and alerts say.

A :class:`Transition` is a plain value (no Django): the watcher (``watch.py``) makes one when a
command id's health changes, stores it, sends its signal (``signals.py``) and hands it to the
notifiers (``notifiers/``). Healths are kept as their names (``"OK"``, ``"MISSED"``...); what
each one means is its trait in ``healths.py``. This module depends on nothing but those two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .healths import Health
from .record import RunRecord, format_timestamp, parse_timestamp

#: The names of the healths that are good news (``Health.healthy``): nothing to tell anyone.
HEALTHY = frozenset(h.value for h in Health if h.healthy)
#: The names of the problem healths (``Health.problem``); leaving one for a healthy one is a
#: recovery.
PROBLEMS = frozenset(h.value for h in Health if h.problem)


def health_name(value: Any) -> str:
    """Return a health as its name: ``"MISSED"`` for ``"MISSED"`` or ``Health.MISSED``."""
    return str(getattr(value, "value", value))


@dataclass(frozen=True)
class Transition:
    """One change of one command id's health, from ``previous`` to ``health``.

    ``at`` is when the health changed, taken from the evidence (the expected start plus its
    margin for ``MISSED``, the end of the run for ``FAILING``...) rather than from the clock of
    the watcher that noticed: two watchers that see the same change then make the same ``id``,
    which is what lets them alert exactly once. ``record`` is the command's last run (``None``
    when it never ran), ``host`` where that run ran (or the watcher's host), ``failures_in_row``
    how many runs in a row ended ``FAILED`` or ``SYSTEM_KILL``, ``next_expected`` the next run
    the schedule expects (``None`` without a schedule), ``missed_start`` for ``MISSED`` the
    expected start that no run began (an alert names it; ``at`` is that start plus its margin).

    A snooze's summary is stored as a transition too (``health/silence.py``), from the health to
    itself, ``at`` the snooze's end: ``summary_of`` is the snooze's id and ``summary`` what
    happened meanwhile, in words. Its ``id`` is the snooze's and its end, the same for every
    watcher.
    """

    command_id: str
    previous: str
    health: str
    at: dt.datetime
    record: RunRecord | None = None
    host: str | None = None
    failures_in_row: int = 0
    next_expected: dt.datetime | None = None
    missed_start: dt.datetime | None = None
    summary: str | None = None
    summary_of: str | None = None

    def __post_init__(self) -> None:
        # A str enum of the health module is welcome; what is kept is its name.
        object.__setattr__(self, "previous", health_name(self.previous))
        object.__setattr__(self, "health", health_name(self.health))
        if self.at.tzinfo is None:
            raise ValueError("Transition.at must be an aware datetime (UTC)")
        object.__setattr__(self, "at", self.at.astimezone(dt.timezone.utc))

    @property
    def id(self) -> str:
        """Return the stable id of this transition: ``<command id>:<health>:<at>``
        (``<command id>:summary:<snooze id>:<at>`` for a snooze's summary)."""
        if self.summary_of is not None:
            return f"{self.command_id}:summary:{self.summary_of}:{format_timestamp(self.at)}"
        return f"{self.command_id}:{self.health}:{format_timestamp(self.at)}"

    @property
    def is_recovery(self) -> bool:
        """Whether this leaves a problem for good health (``FAILING`` to ``OK``, for one)."""
        return self.summary_of is None and self.previous in PROBLEMS and self.health in HEALTHY

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form (timestamps as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``), as stored."""
        return {
            "id": self.id,
            "command_id": self.command_id,
            "previous": self.previous,
            "health": self.health,
            "at": format_timestamp(self.at),
            "record": None if self.record is None else self.record.as_dict(),
            "host": self.host,
            "failures_in_row": self.failures_in_row,
            "next_expected": format_timestamp(self.next_expected),
            "missed_start": format_timestamp(self.missed_start),
            **(
                {"summary": self.summary, "summary_of": self.summary_of}
                if self.summary_of is not None
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transition:
        """Build a transition from its JSON form (what a store gives back)."""
        at = parse_timestamp(data["at"])
        if at is None:
            raise ValueError("a stored transition has no 'at'")
        record = data.get("record")
        return cls(
            command_id=data["command_id"],
            previous=data["previous"],
            health=data["health"],
            at=at,
            record=RunRecord.from_dict(record) if record else None,
            host=data.get("host"),
            failures_in_row=int(data.get("failures_in_row") or 0),
            next_expected=parse_timestamp(data.get("next_expected")),
            missed_start=parse_timestamp(data.get("missed_start")),
            summary=data.get("summary"),
            summary_of=data.get("summary_of"),
        )
