"""When a problem that lasts is told again (a repeat) or to more people (an escalation).

While a command's health stays a problem that alerts (``FAILING``, ``MISSED``, ``STALE``,
``OVERRUNNING``), its route's ``realert_every`` makes a repeat due at each multiple of it after
the problem began (``since``: its transition's time, from the evidence), and
``escalate_after`` one escalation at ``since + escalate_after``. Those times come from the
evidence, never from the clock of the watcher that noticed, so every watcher makes the same
follow-up, and the store keeps one (a transition from the health to itself, stored under the
next number as every transition is: ``transitions.FollowUp``).

The newest stored transition of the command says how far the follow-ups went: each cycle makes
at most one, for everything due since then. A watcher that was stopped for an hour sends one
repeat, the latest due (its number says how many periods passed), not six; a repeat and the
escalation due at once are one follow-up, which is an escalation. Pure: no store, no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..record import RunRecord, Status

#: Run statuses that count as a failed run in a follow-up.
FAILED = frozenset({Status.FAILED.value, Status.SYSTEM_KILL.value})


@dataclass(frozen=True)
class Due:
    """The follow-up due now: its time, the repeat it is (0: none), and whether it escalates."""

    at: dt.datetime
    repeat: int
    escalation: bool


def due(
    since: dt.datetime,
    last: dt.datetime,
    now: dt.datetime,
    realert_every: dt.timedelta | None,
    escalate_after: dt.timedelta | None,
) -> Due | None:
    """Return the follow-up due at ``now`` of a problem that began at ``since``, or ``None``.

    ``last`` is the time of the newest stored transition of the command: the problem's own
    (``since``), or its latest follow-up. What is due after it and by ``now`` is one follow-up
    at the latest such time.
    """
    times: list[dt.datetime] = []
    repeat = 0
    if realert_every is not None:
        periods = (now - since) // realert_every
        if periods >= 1 and since + periods * realert_every > last:
            repeat = periods
            times.append(since + periods * realert_every)
    escalation = False
    if escalate_after is not None:
        escalate_at = since + escalate_after
        escalation = last < escalate_at <= now
        if escalation:
            times.append(escalate_at)
    if not times:
        return None
    return Due(max(times), repeat, escalation)


def first_due(
    since: dt.datetime, realert_every: dt.timedelta | None, escalate_after: dt.timedelta | None
) -> dt.datetime | None:
    """Return the earliest time a follow-up may be due (``None``: neither is declared).

    Before it, a cycle reads nothing more for the command.
    """
    offsets = [o for o in (realert_every, escalate_after) if o is not None]
    return since + min(offsets) if offsets else None


def counts(
    history: Sequence[RunRecord], since: dt.datetime, missed_now: dt.datetime | None = None
) -> tuple[int, int]:
    """Return the failed runs and the missed starts of ``history`` at or after ``since``.

    A failed run counts when it ended then or later, a missed start when it was expected then
    or later (``since`` of a ``MISSED`` problem is its first missed start: ``watch.py`` passes
    the start, not the start plus its margin). ``missed_now``: a start the cycle found missed
    and recorded after it read ``history``, counted too.
    """
    failed = 0
    missed: set[dt.datetime] = set()
    for run in history:
        status = str(run.status)
        if status == Status.MISSED.value:
            missed.add(_utc(run.started))
        elif status in FAILED and _utc(run.finished or run.latest or run.started) >= since:
            failed += 1
    if missed_now is not None:
        missed.add(_utc(missed_now))
    return failed, sum(1 for start in missed if start >= since)


def _utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` in UTC (naive means UTC, as in ``record.py``)."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
