"""The health of one command id, from its expectation and its runs: a pure function, no I/O.

:func:`assess` judges, in this order (the first that applies wins):

1. The newest record is an unfinished run whose heartbeat (``latest``, else ``started``) is
   recent: ``OVERRUNNING`` when it has run past ``max_runtime``, else ``OVERLAPPING`` when
   another of the records read is alive too, else ``RUNNING``. A run that is alive is never
   ``LATE`` nor ``MISSED``.
2. ``MISSED``: a scheduled start has passed its ``start_margin`` with no run started since the
   newest record, or the newest record is a stored ``MISSED`` one. It stays ``MISSED`` until a
   run starts: a missed job has not recovered because the watcher wrote the miss down.
3. ``STALE``: the newest record is an unfinished run whose heartbeat is older than
   ``stale_after`` (it was probably killed without a trace: :func:`is_stale`).
4. ``FAILING``: the newest real run ended ``FAILED`` or ``SYSTEM_KILL``.
5. ``SUSPECT``: the newest real run ``FINISHED`` but missed its expectations (its ``unmet``,
   stored where it ended: ``monitorkit/expectations.py``). A run that meets them recovers.
6. ``LATE``: a scheduled start has come, within its margin, and no run has started for it.
7. ``NEW``: no run yet, and nothing due (also a declared command with no schedule).
8. ``OK``.

A ``SKIPPED`` record (a start the concurrency policy refused, ``monitorkit/concurrency.py``)
is no run: it is neither a failure nor a success (``failures_in_row`` and ``successes_in_row``
pass over it), and never the newest run the rules read; but it was a start, so the schedule
counts from it as from any start.

The schedule counts from the newest record's start (see ``Expectation.due_after`` for a run that
starts a little early), from a ``MISSED`` record's expected start, or, when the command never
ran, from ``first_seen``: when the watcher first saw the schedule (``None``: now). When several
starts were missed (the watcher was down), ``missed_at`` is the latest of them: one ``MISSED``
record stands for the gap, and the next start is judged on its own. MISSED records only count
while there is a schedule.

Alert policy (``alert_after``, ``notify_recovery``, ``muted``, flapping) is the watcher's: the
health is the same whether anyone is told. :func:`judge` adds the watcher's memory: a stored
``FAILING`` or ``STALE`` stays while a retry runs, and until ``recover_after`` runs in a row
succeeded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..healths import Health as Health
from ..record import RunRecord
from ..staleness import is_stale as is_stale
from .schedules import UTC, Expectation

MISSED = "MISSED"
SKIPPED = "SKIPPED"
FAILED = ("FAILED", "SYSTEM_KILL")
FINISHED = "FINISHED"
UNFINISHED = ("STARTED", "RUNNING")


@dataclass(frozen=True)
class Assessment:
    """The health of a command id, and what the watcher needs to act on it."""

    health: Health
    next_expected: dt.datetime | None
    """The next start the schedule expects (the one due, when ``LATE``)."""
    missed_at: dt.datetime | None
    """A start newly missed: the watcher stores a ``MISSED`` record with this time."""
    failures_in_row: int
    """``FAILED``/``SYSTEM_KILL`` runs from the newest finished run back (MISSED ones skipped)."""
    last_run: RunRecord | None
    """The newest real run (never a ``MISSED`` record)."""
    running: bool = False
    """The newest record is a run that is alive (``RUNNING`` or ``OVERRUNNING`` by the rules).

    Still true when :func:`judge` keeps a stored ``FAILING``/``STALE`` while a retry runs; never
    true of a run that stopped beating: only a running run is shown with progress and an ETA.
    """
    by_watcher: bool = False
    """``health`` is the watcher's stored judgement (``overview.shown``), not judged here."""
    recovering: Recovering | None = None
    """Set while a stored ``FAILING``/``STALE`` is kept for want of ``recover_after`` successes."""

    def recovering_dict(self) -> dict[str, int] | None:
        """Return the JSON form of ``recovering``: ``{"successes": 1, "needed": 3}`` or ``None``."""
        if self.recovering is None:
            return None
        return {"successes": self.recovering.successes, "needed": self.recovering.needed}


@dataclass(frozen=True)
class Recovering:
    """A problem kept until enough runs in a row succeed: ``successes`` of ``needed`` so far."""

    successes: int
    needed: int

    def describe(self) -> str:
        """Return it in words: ``1 of 3 successes needed to recover``."""
        return f"{self.successes} of {self.needed} successes needed to recover"


def _status(record: RunRecord) -> str:
    return str(record.status)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def failures_in_row(runs: Sequence[RunRecord]) -> int:
    """Count failed runs from the newest back to the last success, skipping misses and runs."""
    count = 0
    for run in runs:
        status = _status(run)
        if status in FAILED:
            count += 1
        elif status not in UNFINISHED and status not in (MISSED, SKIPPED):
            break
    return count


def successes_in_row(runs: Sequence[RunRecord]) -> int:
    """Count ``FINISHED`` runs that met their expectations from the newest back to anything
    else, skipping misses (a run that missed them, ``SUSPECT``, is no success)."""
    count = 0
    for run in runs:
        status = _status(run)
        if status == "FINISHED" and not run.unmet:
            count += 1
        elif status not in (MISSED, SKIPPED):
            break
    return count


def assess(
    expectation: Expectation | None,
    runs: Sequence[RunRecord],
    now: dt.datetime,
    stale_after: float,
    first_seen: dt.datetime | None,
) -> Assessment:
    """Return the health of one command id at ``now`` (rules in the module docstring).

    ``runs`` are its records, newest first; they are put in order of start here, so a
    ``MISSED`` record stored just after a late run began never hides that run.
    """
    now = _utc(now)
    scheduled = expectation is not None and expectation.schedule is not None
    starts = sorted(
        (r for r in runs if scheduled or _status(r) != MISSED),
        key=lambda r: _utc(r.started),
        reverse=True,
    )
    records = [r for r in starts if _status(r) != SKIPPED]
    real = [r for r in records if _status(r) != MISSED]
    newest = records[0] if records else None
    last_run = real[0] if real else None
    failures = failures_in_row(records)

    def result(
        health: Health, due: dt.datetime | None, missed: dt.datetime | None = None
    ) -> Assessment:
        running = health in (Health.RUNNING, Health.OVERRUNNING, Health.OVERLAPPING)
        return Assessment(health, due, missed, failures, last_run, running)

    stale = newest is not None and is_stale(newest, now, stale_after)
    if newest is not None and _status(newest) in UNFINISHED and not stale:
        started = _utc(newest.started)
        due = expectation.due_after(started) if expectation else None
        limit = expectation.max_runtime if expectation else None
        overrun = limit is not None and now - started > limit
        if overrun:
            return result(Health.OVERRUNNING, due)
        alive = sum(
            1 for r in records if _status(r) in UNFINISHED and not is_stale(r, now, stale_after)
        )
        return result(Health.OVERLAPPING if alive > 1 else Health.RUNNING, due)

    due = None
    if expectation is not None and scheduled:
        start = starts[0] if starts else None  # a refused start is a start for the schedule
        if start is None:
            due = expectation.next_expected(now if first_seen is None else first_seen)
        elif _status(start) == MISSED:
            due = expectation.next_expected(start.started)
        else:
            due = expectation.due_after(start.started)
        if due is not None and now >= due + expectation.start_margin:
            missed = expectation.last_start(due, now - expectation.start_margin)
            return result(Health.MISSED, expectation.next_expected(missed), missed)
    if newest is not None and _status(newest) == MISSED:
        return result(Health.MISSED, due)
    if stale:
        return result(Health.STALE, due)
    if last_run is not None and _status(last_run) in FAILED:
        return result(Health.FAILING, due)
    if last_run is not None and last_run.unmet and _status(last_run) == FINISHED:
        return result(Health.SUSPECT, due)
    if due is not None and due <= now:
        return result(Health.LATE, due)
    return result(Health.NEW if last_run is None else Health.OK, due)


#: Stored healths that a retry starting does not yet change: its outcome decides.
WAIT_FOR_OUTCOME = frozenset({Health.FAILING, Health.STALE, Health.SUSPECT})


def judge(
    expectation: Expectation | None,
    runs: Sequence[RunRecord],
    now: dt.datetime,
    stale_after: float,
    first_seen: dt.datetime | None,
    stored: str | None,
) -> Assessment:
    """Return the health every reader shows: :func:`assess`, and the watcher's one rule of memory.

    ``stored`` is the health the watcher last stored (``None``: no watcher has judged the id).
    From ``FAILING``, ``STALE`` or ``SUSPECT``, a retry that starts is not yet a recovery: the
    health stays what was stored until the retry's outcome (``running`` says the retry is alive).
    With a ``recover_after`` of more than 1, it stays too until that many runs in a row succeeded
    (``recovering`` says how many have): the health is stored only by the watcher, so every
    reader that reads its state says the same, and a reader that reads none (no watcher ever
    judged the id: nothing is alerted either) judges run by run.
    """
    found = assess(expectation, runs, now, stale_after, first_seen)
    kept = Health.of(stored)
    if kept is None or kept not in WAIT_FOR_OUTCOME:
        return found
    if found.health in (Health.RUNNING, Health.OVERLAPPING):
        return dataclasses.replace(found, health=kept)
    needed = expectation.recover_after if expectation is not None else 1
    if found.health is Health.OK and needed > 1:
        successes = successes_in_row(sorted(runs, key=lambda r: _utc(r.started), reverse=True))
        if successes < needed:
            return dataclasses.replace(found, health=kept, recovering=Recovering(successes, needed))
    return found
