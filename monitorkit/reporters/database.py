"""The embedded store: runs kept in the project's own database through the ORM.

Writes run on the sender's thread, which has its own database connection: a run is committed
even when the command's transaction rolls back.

SQLite allows one writer, and a connection that has read inside a transaction and then wants
to write gets "database is locked" *at once* when another connection of the same process is
about to commit (SQLite skips its busy wait to avoid a deadlock). So on SQLite the command's
connection gets an execute wrapper that takes :data:`sqlite_gate` around each of its queries,
and the sender writes only while holding that gate *and* while the command's connection is
outside a transaction. The command never waits longer than one short monitorkit write, and
never fails because of one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Max, OuterRef, Subquery

from ..conf import MonitorSettings, monitor_settings
from ..record import UNFINISHED, RunRecord, Status, is_stale, presumed_killed_message, utcnow
from ..retry import RetryableError, call_with_retries
from .base import Reporter, ReporterError

logger = logging.getLogger("monitorkit")

#: Held by a monitored command's query on SQLite, and by the sender while it writes.
sqlite_gate = threading.Lock()
#: The command connections (SQLite) whose open transactions the sender waits out.
_guarded: list[Any] = []
SENDER_BUSY_TIMEOUT_MS = 250


class _SqliteGuard:
    """An execute wrapper: each of the command's queries holds the gate while it runs."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.active = True

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if not self.active:
            return execute(sql, params, many, context)
        with sqlite_gate:
            return execute(sql, params, many, context)


def _in_transaction(connection: Any) -> bool:
    raw = getattr(connection, "connection", None)
    return bool(raw is not None and getattr(raw, "in_transaction", False))


class DatabaseReporter(Reporter):
    """Store runs as ``monitorkit.models.CommandRun`` rows, the last N per command id."""

    def __init__(self, settings: MonitorSettings = monitor_settings) -> None:
        super().__init__(settings)
        self.alias = settings.database_alias
        self._guard: _SqliteGuard | None = None

    def describe(self) -> str:
        return f"DatabaseReporter(database {self.alias!r})"

    # On the command's thread.
    def bind(self) -> None:
        connection = connections[self.alias]
        if connection.vendor != "sqlite":
            return
        self._guard = _SqliteGuard(connection)
        connection.execute_wrappers.append(self._guard)
        with sqlite_gate:
            _guarded.append(connection)

    def unbind(self) -> None:
        guard, self._guard = self._guard, None
        if guard is None:
            return
        guard.active = False
        wrappers = guard.connection.execute_wrappers
        if guard in wrappers:
            wrappers.remove(guard)
        with sqlite_gate:
            if guard.connection in _guarded:
                _guarded.remove(guard.connection)

    # On the sender's thread.
    def start_run(self, record: RunRecord) -> None:
        self._write(lambda: self._store(record))

    def heartbeat(self, record: RunRecord) -> None:
        self._write(lambda: self._store(record))

    def finish_run(self, record: RunRecord) -> None:
        self._write(lambda: self._store(record))

    def _write(self, write: Callable[[], None]) -> None:
        def attempt() -> None:
            try:
                self._gated(write)
            except IntegrityError as err:  # two processes took the same seq: take the next
                raise RetryableError(str(err)) from err
            except DatabaseError as err:  # locked, or the connection went away
                connections[self.alias].close()
                raise RetryableError(str(err)) from err

        try:
            call_with_retries(attempt, self.retry_policy)
        except RetryableError as err:
            raise ReporterError(
                f"database {self.alias!r} refused the write after "
                f"{self.retry_policy.attempts} attempts: {err}"
            ) from None

    def _gated(self, write: Callable[[], None]) -> None:
        connection = connections[self.alias]
        if connection.vendor != "sqlite":
            write()
            return
        connection.ensure_connection()
        connection.cursor().execute(f"PRAGMA busy_timeout = {SENDER_BUSY_TIMEOUT_MS}")
        while True:
            with sqlite_gate:
                if not any(_in_transaction(c) for c in _guarded):
                    write()
                    return
            time.sleep(0.05)  # a command is inside a transaction: write once it is out

    def _store(self, record: RunRecord) -> None:
        """Update the run's row; the first write of a run inserts it (whichever event it is)."""
        from ..models import CommandRun

        runs = CommandRun.objects.using(self.alias)
        fields = self._fields(record)
        with transaction.atomic(using=self.alias):
            if runs.filter(run_id=record.run_id).update(**fields):
                return
            self._mark_stale(record, runs)
            last = runs.filter(command_id=record.id).aggregate(top=Max("seq"))["top"] or 0
            seq = last + 1
            runs.create(run_id=record.run_id, seq=seq, **fields)
            runs.filter(command_id=record.id, seq__lte=seq - self.settings.retention).delete()

    def _mark_stale(self, record: RunRecord, runs: Any) -> None:
        now = utcnow()
        stale_after = self.settings.stale_after
        candidates = runs.filter(
            command_id=record.id, status__in=[s.value for s in UNFINISHED]
        ).exclude(run_id=record.run_id)
        for run in candidates:
            latest = _aware(run.latest or run.started)
            if is_stale(run.status, latest, now, stale_after):
                run.status = Status.SYSTEM_KILL.value
                run.message = presumed_killed_message(latest, stale_after)
                run.save(update_fields=["status", "message"])

    @staticmethod
    def _fields(record: RunRecord) -> dict[str, Any]:
        return {
            "command_id": record.id,
            "name": record.name[:255],
            "params": record.params,
            "status": record.status.value,
            "started": _db_time(record.started),
            "latest": _db_time(record.latest),
            "finished": _db_time(record.finished),
            "duration": record.duration,
            "message": record.message,
            "exception_type": record.exception_type,
            "traceback": record.traceback,
            "exit_code": record.exit_code,
            "host": record.host[:255],
            "pid": record.pid,
            "progress": record.progress,
            "metadata": record.metadata,
        }

    # The read side.
    def latest_runs(self) -> list[RunRecord]:
        from ..models import CommandRun

        runs = CommandRun.objects.using(self.alias)
        newest = runs.filter(command_id=OuterRef("command_id")).order_by("-seq").values("seq")[:1]
        rows = runs.filter(seq=Subquery(newest)).order_by("command_id")
        return [self._record(row) for row in rows]

    def command_history(self, command_id: str, limit: int | None = None) -> list[RunRecord]:
        from ..models import CommandRun

        rows = CommandRun.objects.using(self.alias).filter(command_id=command_id).order_by("-seq")
        return [self._record(row) for row in (rows[:limit] if limit else rows)]

    @staticmethod
    def _record(row: Any) -> RunRecord:
        return RunRecord(
            id=row.command_id,
            name=row.name,
            params=row.params,
            run_id=row.run_id,
            host=row.host,
            pid=row.pid,
            started=_aware(row.started) or row.started,
            status=Status(row.status),
            latest=_aware(row.latest),
            finished=_aware(row.finished),
            message=row.message,
            exception_type=row.exception_type,
            traceback=row.traceback,
            exit_code=row.exit_code,
            progress=row.progress,
            metadata=row.metadata or {},
            seq=row.seq,
        )


def _db_time(value: dt.datetime | None) -> dt.datetime | None:
    """Return a UTC datetime as the database wants it (naive UTC when ``USE_TZ`` is off)."""
    if value is None or django_settings.USE_TZ:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)
