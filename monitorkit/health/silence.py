"""The watcher's part in snoozes and maintenance windows: hold alerts, then summarise.

Each cycle reads the stored snoozes (one read) and stores the occurrence of each maintenance
window under way (``maintenance.py``) as a snooze, once. While a snooze holds a command id, its
health is judged and its transitions stored as ever, but their alerts stay open, unsent
(``Silences.holds``; the watcher's ``_handle_alert`` asks), and so they stay after its end
until the snooze is closed: only its summaries go out meanwhile. Once a snooze has ended, each
command id it matched gets one summary, if anything happened meanwhile (a change of health, a
run that failed) or something is wrong now: a transition from its health to itself, ``at`` the
snooze's end, ``summary_of`` the snooze (``Transition.id`` is then the snooze's id and its end,
the same for every watcher). It is stored by ``record_transition``, after a read of the command
id's transitions (made after its state was read) finds no summary of that id: of two or three
watchers, one stores it, and a later cycle finds it stored. It is sent as any alert (claimed,
per channel, exactly once), and being the command id's newest transition it replaces the
alert held meanwhile: the summary is the alert for what is still wrong, and a recovery later
goes to the channels that received it. Once every command id is summarised the snooze is
closed (``close_snooze``) and no cycle looks at it again; a summary found stored while the
state read is still behind it (its watcher has not finished storing it) keeps the snooze open,
and its alerts held, one cycle more.

A command id still held by another snooze when one ends is summarised when the last one ends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..healths import Health
from ..record import parse_timestamp
from ..snoozes import Snooze, active_for
from ..stores.base import Reporter
from ..stores.health_store import PENDING, HealthState, HealthStore
from ..transitions import PROBLEMS, Transition
from ..words import human_time
from . import maintenance
from .judge import Assessment
from .schedules import Expectation

logger = logging.getLogger("monitorkit")

#: The time of a cycle that knows no snooze (before the first cycle, or when none can be read).
NEVER = dt.datetime.min.replace(tzinfo=dt.timezone.utc)

#: The outcomes of a run a summary counts as failed.
FAILED_OUTCOMES = frozenset({"FAILED", "SYSTEM_KILL", "MISSED"})
#: Transitions read to find a summary already stored (at most a few come after it).
LOOKED_BACK = 50


@dataclass(frozen=True)
class Silences:
    """The snoozes a cycle knows of, at the cycle's time."""

    snoozes: list[Snooze] = field(default_factory=list)
    now: dt.datetime = NEVER

    def snoozing(self, command_id: str) -> bool:
        """Return whether a snooze under way now matches ``command_id``."""
        return bool(active_for(self.snoozes, command_id, self.now))

    def holds(self, command_id: str) -> bool:
        """Return whether ``command_id``'s alerts wait: a snooze is under way, or one ended
        and its summaries are not all stored yet (a summary replaces the alert held; until a
        watcher closes the snooze, another may be storing it)."""
        return self.snoozing(command_id) or any(s.matches(command_id) for s in self.due())

    def due(self) -> list[Snooze]:
        """Return the snoozes that ended and are not summarised yet."""
        return [s for s in self.snoozes if s.ended(self.now) and s.closed is None]


def read(store: HealthStore, now: dt.datetime) -> Silences:
    """Return the stored snoozes, after storing each maintenance window under way (once)."""
    stored = store.snoozes()
    known = {snooze.id for snooze in stored}
    for occurrence in maintenance.occurrences(now):
        if occurrence.id not in known:
            store.add_snooze(occurrence)  # another watcher may have stored it: the same one
            stored.append(occurrence)
    return Silences(stored, now)


def shown(store: HealthStore | None, now: dt.datetime) -> list[Snooze]:
    """Return the snoozes a reader shows at ``now``: the stored ones and the maintenance
    windows under way that no watcher stored yet (one read; nothing is written).

    The page, its JSON, the metrics and ``monitor_status`` read them here, so each says a
    command is snoozed exactly when the others do (``active_for`` picks a command id's).
    """
    try:
        stored = store.snoozes() if store is not None else []
    except NotImplementedError:  # a store of the project's own, written before snoozes
        stored = []
    known = {snooze.id for snooze in stored}
    return stored + [o for o in maintenance.occurrences(now) if o.id not in known]


def holding(store: HealthStore | None, command_id: str, now: dt.datetime) -> list[Snooze]:
    """Return what holds ``command_id``'s alerts at ``now``, for a page (:func:`shown`)."""
    return active_for(shown(store, now), command_id, now)


def summarise(
    store: HealthStore,
    reporter: Reporter,
    silences: Silences,
    command_ids: Iterable[str],
    expectations: Mapping[str, Expectation],
    assessments: Mapping[str, Assessment],
    host: str,
) -> list[Transition]:
    """Store the summary of each command id of each snooze that ended; return those stored.

    A snooze is closed once each of its command ids is summarised (by this watcher or another)
    or has nothing to summarise; one whose summary could not be stored this cycle (another
    watcher moved the command id on meanwhile) stays open for the next cycle.
    """
    due = silences.due()
    if not due:
        return []
    ids = sorted(command_ids)
    states = store.states()  # read before the transitions each summary looks for
    stored: list[Transition] = []
    for snooze in due:
        try:
            done = True
            held = ids if snooze.until > snooze.start else []  # ended before it began: nothing
            for command_id in held:
                expectation = expectations.get(command_id)
                if not snooze.matches(command_id) or (expectation and expectation.muted):
                    continue
                if silences.snoozing(command_id):
                    continue  # another snooze holds it still: its end summarises
                state = states.get(command_id)
                if state is None:
                    continue  # never judged: nothing happened that a watcher saw
                found = assessments.get(command_id)
                outcome = _summary(store, reporter, snooze, state, found, host)
                if isinstance(outcome, Transition):
                    stored.append(outcome)
                elif outcome is False:
                    done = False
            if done:
                store.close_snooze(snooze.id, silences.now)
        except Exception:
            logger.exception("monitorkit watcher could not summarise snooze %s", snooze.id)
    return stored


def _summary(
    store: HealthStore,
    reporter: Reporter,
    snooze: Snooze,
    state: HealthState,
    found: Assessment | None,
    host: str,
) -> Transition | bool | None:
    """Store one command id's summary of ``snooze``: the transition stored, ``True`` when it
    was stored already, ``None`` when there is nothing to say, ``False`` when it could not be
    stored this cycle, or another watcher is still storing it (look again next cycle)."""
    command_id = state.command_id
    summary_id = snooze.summary_id(command_id)
    kept = store.transitions(command_id, LOOKED_BACK)
    for number, stored, _ in kept:
        if stored.id == summary_id:
            # Stored. Done once the state read has moved on to it: the watcher that stored it
            # has then replaced the held alert too (in Firebase that comes after the create).
            return state.number >= number
    changes = [
        t
        for _, t, _ in reversed(kept)
        if t.summary_of is None and snooze.start <= t.at <= snooze.until
    ]
    failed = _failed_runs(reporter, command_id, snooze)
    if not changes and not failed and state.health not in PROBLEMS:
        return None
    record = found.last_run if found is not None else None
    summary = Transition(
        command_id=command_id,
        previous=state.health,
        health=state.health,
        at=snooze.until,
        record=record,
        host=record.host if record is not None else host,
        failures_in_row=found.failures_in_row if found is not None else 0,
        next_expected=state.next_expected,
        summary=words(snooze, changes, failed, state.health),
        summary_of=snooze.id,
    )
    after = dataclasses.replace(state, number=state.number + 1)
    if store.record_transition(state, after, summary, PENDING):
        return summary
    return False


def _failed_runs(reporter: Reporter, command_id: str, snooze: Snooze) -> int:
    """Return how many runs that started during the snooze failed (of those still kept)."""
    count = 0
    for outcome in reporter.command_outcomes(command_id):
        if outcome.get("status") not in FAILED_OUTCOMES:
            continue
        started = parse_timestamp(outcome.get("started"))
        if started is not None and snooze.start <= started < snooze.until:
            count += 1
    return count


def words(snooze: Snooze, changes: list[Transition], failed: int, health: str) -> str:
    """Return what a summary says: the snooze, what happened meanwhile, and the health now."""
    lines = [
        f"Snoozed from {human_time(snooze.start)} to {human_time(snooze.until)} by "
        f"{snooze.who or 'someone'}" + (f": {snooze.reason}" if snooze.reason else "") + ".",
    ]
    if changes:
        steps = ", ".join(f"{t.previous} -> {t.health} at {human_time(t.at)}" for t in changes)
        lines.append(f"Meanwhile {len(changes)} change(s) of health: {steps}.")
    else:
        lines.append("Meanwhile its health did not change.")
    lines.append(f"Runs that failed meanwhile: {failed}.")
    known = Health.of(health)
    if health in PROBLEMS:
        said = known.words if known is not None else f"is {health}"
        lines.append(f"Still wrong: it {said}.")
    else:
        lines.append(f"Now: {health}.")
    return "\n".join(lines)
