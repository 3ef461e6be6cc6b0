"""Flapping: a command whose health keeps changing between good and bad sends one notice, then
goes quiet until it settles. Pure functions of the stored transitions, no I/O.

A *change* here is a transition between a good health and a problem (``Health.problem``): ``OK``
to ``FAILING`` and back, ``RUNNING`` to ``STALE``... ``OK`` to ``RUNNING`` is not one, nor
``FAILING`` to ``MISSED``, so a healthy command the watcher often sees running never flaps.

With a ``flap_threshold`` of N, the change that makes more than N in the hour up to it
(:data:`WINDOW`, counted from the stored transitions' evidence times, so every watcher counts
the same) is stored with the notice ``FLAPPING`` and alerted as the flapping notice. Every
transition after it is ``QUIET``: stored and shown, not alerted, until an hour passes with no
change (:data:`SETTLE_AFTER`, from the last change: ``Flapping.until``). Then the watcher stores
one ``SETTLED`` transition, from the health to itself, which alerts as that health would (a
problem: once; a good health: nothing, ``notify_recovery`` or not). The flapping notice and the
settled transition are stored through ``record_transition`` (create-only per number) and sent
through the alert's claim, like every transition: of two or three watchers, one sends each.
A notice not yet delivered everywhere when the next change comes (which supersedes its alert)
is carried by that change to the channels it did not reach (``Flapping.carried``).

The newest flapping transition's alert stays open (``waiting``) while the command is quiet, so
the watcher notices the settling among the open alerts it reads each cycle anyway: no read
more per cycle. A change reads the command's newest transitions once (``HealthStore.transitions``),
only for a command with a ``flap_threshold``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ..healths import Health
from ..record import RunRecord
from ..stores.health_store import PENDING, RETRYING, SENDING
from ..transitions import Flapping, Notice, Transition

#: The window the changes are counted in: a ``flap_threshold`` is changes an hour.
WINDOW = dt.timedelta(hours=1)
#: How long a flapping command must go without a change to settle. An hour, like the window:
#: a command that settles has fewer changes in the window than any threshold.
SETTLE_AFTER = dt.timedelta(hours=1)
#: Alert states of a flapping notice that some channel may not have been sent yet (once every
#: channel is done, the notice's alert is ``waiting`` for the settling).
UNDELIVERED = frozenset({PENDING, SENDING, RETRYING})


def is_change(transition: Transition) -> bool:
    """Return whether ``transition`` goes between a good health and a problem."""
    before, after = Health.of(transition.previous), Health.of(transition.health)
    if transition.notice is Notice.SETTLED or before is None or after is None:
        return False
    return before.problem != after.problem


def read_depth(threshold: int) -> int:
    """Return how many of the newest stored transitions to read to count ``threshold`` changes
    (each may come with one that is not a change, ``OK`` to ``RUNNING``)."""
    return 2 * threshold + 2


def classify(
    transition: Transition, recent: Sequence[tuple[int, Transition, str]], threshold: int
) -> Flapping | None:
    """Return what ``transition`` says about flapping (``None``: nothing, alert it as usual).

    ``recent`` are the command id's newest stored transitions, newest first, as
    ``HealthStore.transitions`` returns them (number, transition, alert state).
    """
    change = is_change(transition)
    newest = recent[0] if recent else None
    flapping = newest[1].flapping if newest is not None else None
    if (
        newest is not None
        and flapping is not None
        and flapping.notice is not Notice.SETTLED
        and transition.at < flapping.until
    ):
        until = max(flapping.until, transition.at + SETTLE_AFTER) if change else flapping.until
        changes = flapping.changes + (1 if change else 0)
        # A notice not yet delivered to every channel (its watcher was killed before sending
        # it, is sending it, or a channel waits for a retry) would be superseded by this
        # transition: this one carries it to the channels it did not reach.
        if flapping.notice is Notice.FLAPPING and newest[2] in UNDELIVERED:
            return Flapping(Notice.FLAPPING, until, changes, carried=True)
        return Flapping(Notice.QUIET, until, changes)
    if not change:
        return None
    since = transition.at - WINDOW
    changes = 1 + sum(1 for _, t, _ in recent if is_change(t) and t.at > since)
    if changes > threshold:
        return Flapping(Notice.FLAPPING, transition.at + SETTLE_AFTER, changes)
    return None


def settled(transition: Transition, record: RunRecord | None, failures_in_row: int) -> Transition:
    """Return the ``SETTLED`` transition that ends the flapping of ``transition`` (the newest).

    Its time is the settling's, from the evidence (``Flapping.until``), so every watcher makes
    the same one; it stays in the health it found. ``record`` and ``failures_in_row`` are the
    command's now (its newest run).
    """
    assert transition.flapping is not None
    flapping = Flapping(Notice.SETTLED, transition.flapping.until, transition.flapping.changes)
    return Transition(
        command_id=transition.command_id,
        previous=transition.health,
        health=transition.health,
        at=transition.flapping.until,
        record=record,
        host=record.host if record is not None else transition.host,
        failures_in_row=failures_in_row,
        next_expected=transition.next_expected,
        missed_start=transition.missed_start,
        flapping=flapping,
    )
