"""The watcher's side of the embedded store: ``CommandHealth`` and ``HealthTransition`` rows.

Two watchers, on one host or two, may look at the same change at once. A transition is stored
by an ``UPDATE ... WHERE number = <the number read>`` of the command id's health row and the
insert of the transition with that new number, in one transaction: the second watcher's update
matches no row (PostgreSQL makes it wait for the first and re-read; SQLite lets one writer in at
a time), so it stores nothing and does not alert. An alert is claimed the same way, by a
conditional ``UPDATE`` with a lease, so a watcher killed while sending leaves a claim that
expires. Each channel's delivery is the row's ``deliveries`` (JSON; ``{}`` on rows stored
before it existed, which read as they always did). Each watcher's heartbeat is its own
``WatcherCycle`` row, updated at the end of every cycle (one ``UPDATE``). A snooze is a
``CommandSnooze`` row, created once per id (a unique ``snooze_id``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from ...delivery import Delivery, read_deliveries, stored_deliveries
from ...snoozes import KEPT_AFTER_END, Snooze
from ...transitions import Transition
from ..health_store import (
    BEATS_KEPT_FOR,
    CLAIMABLE,
    KEPT_TRANSITIONS,
    OPEN,
    OUTCOME_TIMES,
    SENDING,
    HealthState,
    HealthStore,
    OpenAlert,
    StoredAlert,
    WatcherBeat,
    delivered_at,
    supersede,
)
from .columns import aware, db_time


class DatabaseHealthStore(HealthStore):
    """Health and alerts in the project's own database, beside the runs."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def states(self) -> dict[str, HealthState]:
        """Return every command id's health row (one query)."""
        from ...models import CommandHealth

        return {
            row.command_id: _state(row) for row in CommandHealth.objects.using(self.alias).all()
        }

    def record_first_sight(self, state: HealthState) -> None:
        """Insert the command id's health row unless one exists (the first watcher wins).

        The INSERT is the transaction's first statement, never a read before it: on SQLite a
        transaction that read and then writes gets "database is locked" at once, without
        waiting, while another process (a command's heartbeat) holds the write lock.
        """
        from ...models import CommandHealth

        try:
            with transaction.atomic(using=self.alias):
                CommandHealth.objects.using(self.alias).create(
                    command_id=state.command_id, **_columns(state)
                )
        except IntegrityError:
            pass  # the row exists: another watcher, or an earlier cycle, inserted it

    def record_transition(
        self, before: HealthState, after: HealthState, transition: Transition, alert: str
    ) -> bool:
        """Move the health row on from ``before.number`` and insert the transition, or nothing."""
        from ...models import CommandHealth, HealthTransition

        healths = CommandHealth.objects.using(self.alias)
        transitions = HealthTransition.objects.using(self.alias)
        try:
            with transaction.atomic(using=self.alias):
                moved = healths.filter(command_id=before.command_id, number=before.number).update(
                    **_columns(after)
                )
                if not moved:
                    return False  # another watcher stored this change first
                # At most one row is open; its channels that delivered stay "sent".
                for row in transitions.filter(command_id=before.command_id, alert__in=OPEN):
                    state, detail, deliveries = supersede(read_deliveries(row.deliveries))
                    transitions.filter(pk=row.pk).update(
                        alert=state, detail=detail, deliveries=stored_deliveries(deliveries)
                    )
                record = transition.record
                transitions.create(
                    command_id=transition.command_id,
                    number=after.number,
                    previous=transition.previous,
                    health=transition.health,
                    at=db_time(transition.at),
                    run_id=record.run_id if record is not None else "",
                    failures_in_row=transition.failures_in_row,
                    alert=alert,
                    payload=transition.as_dict(),
                )
                transitions.filter(
                    command_id=before.command_id, number__lte=after.number - KEPT_TRANSITIONS
                ).delete()
        except IntegrityError:
            return False
        return True

    def update_state(self, state: HealthState) -> None:
        """Refresh the next expected run and the last outcomes of a command id (no transition)."""
        from ...models import CommandHealth

        CommandHealth.objects.using(self.alias).filter(command_id=state.command_id).update(
            next_expected=db_time(state.next_expected), **_outcome_columns(state)
        )

    def open_alerts(self) -> list[OpenAlert]:
        """Return the transitions whose alert is not settled (one query)."""
        from ...models import HealthTransition

        rows = HealthTransition.objects.using(self.alias).filter(alert__in=OPEN).order_by("at")
        return [
            OpenAlert(
                Transition.from_dict(row.payload),
                row.number,
                row.alert,
                aware(row.claimed_at),
                read_deliveries(row.deliveries),
            )
            for row in rows
        ]

    def claim_alert(self, alert: OpenAlert, now: dt.datetime, lease: float) -> bool:
        """Take the alert with one conditional update; an expired claim may be taken over.

        Only in the state this watcher read it in: another watcher may have sent it meanwhile
        and left it open again (retrying a channel, or waiting while its command flaps), and
        what this one would send comes from its own, older read of the deliveries.
        """
        from ...models import HealthTransition

        expired = db_time(now - dt.timedelta(seconds=lease))
        as_read = Q(alert=alert.state) & Q(alert__in=CLAIMABLE)
        claimable = as_read | Q(alert=SENDING, claimed_at__lt=expired)
        taken = (
            HealthTransition.objects.using(self.alias)
            .filter(claimable, command_id=alert.transition.command_id, number=alert.number)
            .update(alert=SENDING, claimed_at=db_time(now))
        )
        return bool(taken)

    def settle_alert(
        self,
        alert: OpenAlert,
        state: str,
        detail: str,
        now: dt.datetime,
        deliveries: Mapping[str, Delivery] | None = None,
    ) -> None:
        """Write the alert's outcome; an open state only while the alert is still ours."""
        from ...models import HealthTransition

        row = HealthTransition.objects.using(self.alias).filter(
            command_id=alert.transition.command_id, number=alert.number
        )
        columns: dict[str, Any] = {"alert": state, "detail": detail, "claimed_at": None}
        if deliveries is not None:
            columns["deliveries"] = stored_deliveries(deliveries)
        if delivered_at(state, deliveries, now) is not None:
            columns["alerted_at"] = db_time(now)
        if state in OPEN:
            if row.filter(alert=SENDING).update(**columns) or deliveries is None:
                return
            # A later transition superseded it while it was being sent.
            state, detail, settled = supersede(deliveries)
            columns.update(alert=state, detail=detail, deliveries=stored_deliveries(settled))
        row.update(**columns)

    def alert(self, command_id: str, number: int) -> StoredAlert | None:
        """Return the stored alert of one transition (one query)."""
        from ...models import HealthTransition

        row = (
            HealthTransition.objects.using(self.alias)
            .filter(command_id=command_id, number=number)
            .values("alert", "deliveries", "claimed_at")
            .first()
        )
        if row is None:
            return None
        return StoredAlert(
            row["alert"], read_deliveries(row["deliveries"]), aware(row["claimed_at"])
        )

    def transitions(self, command_id: str, limit: int = 20) -> list[tuple[int, Transition, str]]:
        """Return the newest transitions of one command id."""
        from ...models import HealthTransition

        rows = (
            HealthTransition.objects.using(self.alias)
            .filter(command_id=command_id)
            .order_by("-number")[:limit]
        )
        return [(row.number, Transition.from_dict(row.payload), row.alert) for row in rows]

    def record_cycle(self, beat: WatcherBeat) -> None:
        """Update the watcher's row (one query); its first beat inserts it and deletes the
        rows of watchers silent for :data:`BEATS_KEPT_FOR`.

        A write first, never a read: on SQLite a read before the write would be refused at once
        while another process holds the write lock (see ``record_first_sight``).
        """
        from ...models import WatcherCycle

        rows = WatcherCycle.objects.using(self.alias)
        columns = {
            "host": beat.host,
            "pid": beat.pid,
            "at": db_time(beat.at),
            "interval": beat.interval,
            "scheduled": beat.scheduled,
        }
        if rows.filter(watcher=beat.watcher).update(**columns):
            return
        rows.create(watcher=beat.watcher, **columns)
        rows.filter(at__lt=db_time(beat.at - BEATS_KEPT_FOR)).delete()

    def last_cycle(self) -> WatcherBeat | None:
        """Return the newest watcher row (one query)."""
        from ...models import WatcherCycle

        row = WatcherCycle.objects.using(self.alias).order_by("-at").first()
        if row is None:
            return None
        return WatcherBeat(
            row.watcher, row.host, row.pid, aware(row.at) or row.at, row.interval, row.scheduled
        )

    def snoozes(self) -> list[Snooze]:
        """Return every kept snooze (one query)."""
        from ...models import CommandSnooze

        return [_snooze(row) for row in CommandSnooze.objects.using(self.alias).order_by("start")]

    def add_snooze(self, snooze: Snooze) -> bool:
        """Insert the snooze unless its id exists (the unique ``snooze_id``); a write first."""
        from ...models import CommandSnooze

        try:
            with transaction.atomic(using=self.alias):
                CommandSnooze.objects.using(self.alias).create(
                    snooze_id=snooze.id,
                    pattern=snooze.pattern,
                    reason=snooze.reason,
                    who=snooze.who,
                    start=db_time(snooze.start),
                    until=db_time(snooze.until),
                    closed=db_time(snooze.closed),
                )
        except IntegrityError:
            return False
        return True

    def end_snooze(self, snooze_id: str, at: dt.datetime) -> Snooze | None:
        """Move ``until`` to ``at`` where it is later (one conditional ``UPDATE``), then read it."""
        from ...models import CommandSnooze

        rows = CommandSnooze.objects.using(self.alias).filter(snooze_id=snooze_id)
        rows.filter(until__gt=db_time(at)).update(until=db_time(at))
        row = rows.first()
        return None if row is None else _snooze(row)

    def close_snooze(self, snooze_id: str, at: dt.datetime) -> None:
        """Set ``closed`` (first close kept), and delete snoozes closed long before ``at``."""
        from ...models import CommandSnooze

        rows = CommandSnooze.objects.using(self.alias)
        rows.filter(snooze_id=snooze_id, closed__isnull=True).update(closed=db_time(at))
        rows.filter(closed__lt=db_time(at - KEPT_AFTER_END)).delete()


def _snooze(row: Any) -> Snooze:
    return Snooze(
        row.snooze_id,
        row.pattern,
        row.reason,
        row.who,
        aware(row.start) or row.start,
        aware(row.until) or row.until,
        aware(row.closed),
    )


def _columns(state: HealthState) -> dict[str, Any]:
    return {
        "health": state.health,
        "since": db_time(state.since),
        "first_seen": db_time(state.first_seen),
        "number": state.number,
        "next_expected": db_time(state.next_expected),
        "checked": db_time(state.since),
        **_outcome_columns(state),
    }


def _outcome_columns(state: HealthState) -> dict[str, Any]:
    return {name: db_time(value) for name, value in state.outcome_times().items()}


def _state(row: Any) -> HealthState:
    return HealthState(
        command_id=row.command_id,
        health=row.health,
        since=aware(row.since) or row.since,
        first_seen=aware(row.first_seen) or row.first_seen,
        number=row.number,
        next_expected=aware(row.next_expected),
        **{name: aware(getattr(row, name)) for name in OUTCOME_TIMES},
    )
