"""A change of a command's health: what the watcher records, the signals carry and alerts say.

A :class:`Transition` is a plain value (no Django): the watcher (``watch.py``) makes one when a
command id's health changes, stores it, sends its signal (``signals.py``) and hands it to the
notifiers (``notifiers/``). Healths are kept as their names (``"OK"``, ``"MISSED"``...); what
each one means is its trait in ``healths.py``. This module depends on nothing but those two.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from .healths import Health
from .record import RunRecord, format_timestamp, parse_timestamp

#: The names of the healths that are good news (``Health.healthy``): nothing to tell anyone.
HEALTHY = frozenset(h.value for h in Health if h.healthy)
#: The names of the problem healths (``Health.problem``); leaving one for a healthy one is a
#: recovery.
PROBLEMS = frozenset(h.value for h in Health if h.problem)


class Notice(str, enum.Enum):
    """What a transition of a flapping command says (``health/flapping.py``); stored by value."""

    FLAPPING = "flapping"
    """The change that made the command flapping: one notice, then quiet until it settles."""
    QUIET = "quiet"
    """A change while flapping: stored and shown, not alerted."""
    SETTLED = "settled"
    """No change for an hour since: its health, alerted once if it is a problem. Not a change:
    ``previous`` and ``health`` are the same."""

    def __str__(self) -> str:
        return str(self._value_)


@dataclass(frozen=True)
class Flapping:
    """What a transition says about flapping: its notice, and when the command settles."""

    notice: Notice
    until: dt.datetime
    """When the command settles if no change between good and bad health comes first."""
    changes: int
    """Changes between good and bad health: those in the hour up to the notice, then each one
    while quiet."""
    carried: bool = False
    """A ``FLAPPING`` notice that the transition before had not delivered to every channel
    yet: this one goes to the channels that one did not reach."""

    def as_dict(self) -> dict[str, Any]:
        """Return the stored form."""
        return {
            "notice": self.notice.value,
            "until": format_timestamp(self.until),
            "changes": self.changes,
            "carried": self.carried,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Flapping | None:
        """Return the stored value, or ``None`` for what is not one."""
        if not isinstance(data, dict):
            return None
        try:
            until = parse_timestamp(data.get("until"))
            if until is None:
                return None
            changes = int(data.get("changes") or 0)
            return cls(Notice(data.get("notice")), until, changes, data.get("carried") is True)
        except (TypeError, ValueError):
            return None


def health_name(value: Any) -> str:
    """Return a health as its name: ``"MISSED"`` for ``"MISSED"`` or ``Health.MISSED``."""
    return str(getattr(value, "value", value))


@dataclass(frozen=True)
class FollowUp:
    """What makes a stored "transition" from a health to itself a follow-up of its problem.

    While a problem lasts, the watcher tells of it again every ``realert_every`` (a *repeat*)
    and, once, after ``escalate_after`` (an *escalation*: to more channels). Each follow-up is
    stored as a transition from the health to itself, so it is created once however many
    watchers run, claimed and delivered per channel as every alert is. ``repeat`` is the
    number of the repeat it is (``k``: it is due ``k * realert_every`` after ``since``; 0 for
    an escalation that is no repeat); ``escalation`` whether it goes to ``escalate_to`` too (a
    repeat and an escalation due at once are one follow-up). ``since`` is when the problem
    began (its transition's ``at``); ``failed_runs`` and ``missed_starts`` count the runs that
    failed and the starts that were missed since then, among the runs the watcher reads.
    """

    since: dt.datetime
    repeat: int = 0
    escalation: bool = False
    failed_runs: int = 0
    missed_starts: int = 0

    @property
    def key(self) -> str:
        """Return what tells it apart in its transition's id: ``repeat-2``, ``escalation``."""
        return "escalation" if self.escalation else f"repeat-{self.repeat}"

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "since": format_timestamp(self.since),
            "repeat": self.repeat,
            "escalation": self.escalation,
            "failed_runs": self.failed_runs,
            "missed_starts": self.missed_starts,
        }

    @classmethod
    def from_dict(cls, data: Any) -> FollowUp | None:
        """Return the follow-up stored as ``data`` (``None``: none, or not one)."""
        since = parse_timestamp(data.get("since")) if isinstance(data, dict) else None
        if since is None:
            return None
        return cls(
            since=since,
            repeat=int(data.get("repeat") or 0),
            escalation=bool(data.get("escalation")),
            failed_runs=int(data.get("failed_runs") or 0),
            missed_starts=int(data.get("missed_starts") or 0),
        )


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
    expected start that no run began (an alert names it; ``at`` is that start plus its margin),
    ``follow_up`` set on a repeat or an escalation of a problem that lasts (:class:`FollowUp`).
    ``owner`` and ``runbook`` are the command's, set by the watcher as it sends the alert
    (``health/routing.py``): every alert says them.
    ``flapping`` what it says about flapping (``None``: the command is not flapping).
    For ``FAILING``, ``first_failure_release`` is the release of the first of the failures in
    a row and ``last_success_release`` that of the last success before them, when known
    (``health/releases.py``).

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
    follow_up: FollowUp | None = None
    owner: str | None = None
    runbook: str | None = None
    flapping: Flapping | None = None
    first_failure_release: str | None = None
    last_success_release: str | None = None
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
        """Return the stable id of this transition: ``<command id>:<health>:<at>`` (and
        ``:<follow-up key>`` for a follow-up: ``...:repeat-2``;
        ``<command id>:summary:<snooze id>:<at>`` for a snooze's summary)."""
        if self.summary_of is not None:
            return f"{self.command_id}:summary:{self.summary_of}:{format_timestamp(self.at)}"
        found = f"{self.command_id}:{self.health}:{format_timestamp(self.at)}"
        return found if self.follow_up is None else f"{found}:{self.follow_up.key}"

    @property
    def is_recovery(self) -> bool:
        """Whether this leaves a problem for good health (``FAILING`` to ``OK``, for one)."""
        return self.summary_of is None and self.previous in PROBLEMS and self.health in HEALTHY

    @property
    def lasted(self) -> dt.timedelta | None:
        """Return how long the problem had lasted at a follow-up (``None``: not one)."""
        return None if self.follow_up is None else self.at - self.follow_up.since

    @property
    def notice(self) -> Notice | None:
        """Return what it says about flapping (``None``: nothing)."""
        return self.flapping.notice if self.flapping is not None else None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form (timestamps as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``), as stored.

        ``flapping`` is there only when it is set, so other transitions are stored as before.
        """
        found: dict[str, Any] = {
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
            "follow_up": None if self.follow_up is None else self.follow_up.as_dict(),
            "owner": self.owner,
            "runbook": self.runbook,
            "first_failure_release": self.first_failure_release,
            "last_success_release": self.last_success_release,
            **(
                {"summary": self.summary, "summary_of": self.summary_of}
                if self.summary_of is not None
                else {}
            ),
        }
        if self.flapping is not None:
            found["flapping"] = self.flapping.as_dict()
        return found

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
            follow_up=FollowUp.from_dict(data.get("follow_up")),
            owner=data.get("owner") or None,
            runbook=data.get("runbook") or None,
            flapping=Flapping.from_dict(data.get("flapping")),
            first_failure_release=data.get("first_failure_release"),
            last_success_release=data.get("last_success_release"),
            summary=data.get("summary"),
            summary_of=data.get("summary_of"),
        )
