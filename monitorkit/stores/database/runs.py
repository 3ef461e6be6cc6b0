"""The embedded store: runs kept in the project's own database through the ORM.

Writes run on the sender's thread, which has its own database connection: a run is committed
even when the command's transaction rolls back. Each write is idempotent by run id (the run's
row is updated; the first write of a run inserts it), and is retried until the sender's
delivery deadline (``monitorkit/retry.py``), after which the record goes to the spool.

SQLite allows one writer, and a connection that has read inside a transaction and then wants
to write gets "database is locked" *at once* when another connection of the same process is
about to commit (SQLite skips its busy wait to avoid a deadlock). So on SQLite the command's
connection gets an execute wrapper (one per connection, however many runs are nested on it)
that takes :data:`sqlite_gate` around each of its queries, and the sender writes only while
holding that gate *and* while the command's connection is outside a transaction. The command
never waits longer than one short monitorkit write, and never fails because of one. The gate is
re-entrant and looked up at call time; a fork waits for the sender to leave SQLite (a child must
not inherit SQLite's locks of a write in progress, nor its mutexes taken: ``monitorkit/forks.py``)
and the child starts with a new gate.

Seq numbers are per command id: on PostgreSQL, concurrent first writes of one command id take a
transaction-scoped advisory lock, so two processes never pick the same seq; on SQLite the write
transaction starts with an ``UPDATE``, which takes the write lock (with SQLite's busy wait)
before the seq is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import OuterRef, Subquery

from ... import forks
from ...conf import MonitorSettings, monitor_settings
from ...record import (
    UNFINISHED,
    RunRecord,
    Status,
    format_timestamp,
    outcome,
    utcnow,
)
from ...retry import RetryableError, call_with_retries, remaining
from ..base import MISSED_KEPT, Reporter, ReporterError
from .columns import aware, db_time, raw_time
from .sql import RunStatements

if TYPE_CHECKING:
    from ...concurrency import Admission
    from .health import DatabaseHealthStore

logger = logging.getLogger("monitorkit")

T = TypeVar("T")

#: Held by a monitored command's query on SQLite, and by the sender while it writes. Always
#: read as ``sqlite_gate`` at call time: a forked child gets a new one (``_after_fork_in_child``).
sqlite_gate = threading.RLock()
#: The command connections (SQLite) whose open transactions the sender waits out.
_guarded: list[Any] = []
#: How deep the *current* thread is inside the gate (``write_blocked`` asks from a signal
#: handler whether the code it interrupted holds it). Kept by :func:`_under_gate` alone.
_held = threading.local()
#: The longest the sender lets SQLite busy-wait for another process's write lock while it holds
#: the gate (the command's own queries wait on the gate meanwhile); shorter when its deadline is
#: nearer. Past it the write is retried, the gate released in between.
SENDER_BUSY_TIMEOUT_MAX = 1.0
#: Without a delivery deadline (a reporter used on its own), how long the sender waits for a
#: command's SQLite transaction to end.
TRANSACTION_WAIT = 3.0
#: Command ids read again in one query when the quick pick of their newest runs hit a gap.
GAPPED_BATCH = 500
#: The timestamp columns :meth:`DatabaseReporter._newest_rows` reads as SQLite keeps them.
TIME_COLUMNS = frozenset({"started", "latest", "finished"})


class NoRunsTable(Exception):
    """The runs' table does not exist (the database is not migrated yet)."""


def _under_gate(action: Callable[..., T], *args: Any) -> T:
    """Call ``action(*args)`` holding the gate on this thread.

    This thread counts as inside the gate from before it takes the gate until after it lets
    it go. A signal handler may run between any two bytecodes: counted only while the gate
    was surely held, a handler that ran just after ``with`` took it (or just before it let it
    go) saw no gate held here, waited for the sender's write of the kill, and the sender waited
    for the gate this thread held: the whole flush bound (30 s in a test, seen once under
    load). Counted a little wider, a handler at worst spools a kill the sender could have
    written.
    """
    _held.depth = getattr(_held, "depth", 0) + 1
    try:
        with sqlite_gate:
            return action(*args)
    finally:
        _held.depth -= 1


class _SqliteGuard:
    """An execute wrapper: each of the command's queries holds the gate while it runs.

    One per connection: nested monitored commands on one connection share it (``binds``
    counts them), so a query takes the gate once, not once per nesting level.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.binds = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        return _under_gate(execute, sql, params, many, context)


#: The statuses a row holds before its run's first outcome is stored (``sql.first_outcome``).
_UNFINISHED_VALUES = [status.value for status in UNFINISHED]


def _in_transaction(connection: Any) -> bool:
    raw = getattr(connection, "connection", None)
    return bool(raw is not None and getattr(raw, "in_transaction", False))


def _after_fork_in_child() -> None:
    """In a forked child, start with a free gate and no connection to wait for.

    A run in the child binds its connection again; a guard that the child inherited on its
    connection looks the gate up at call time, so it takes the new one.
    """
    global sqlite_gate, _guarded, _held
    sqlite_gate = threading.RLock()
    _guarded = []
    _held = threading.local()


# A fork waits for the sender to leave SQLite (monitorkit/forks.py), then takes the gate: a
# child inherits SQLite's own record of the locks its parent's connections hold, and forked
# inside a write transaction of the sender it could never use the file ("database is locked").
forks.hold_locks(lambda: [sqlite_gate], _after_fork_in_child)


def _names_runs_table(error: DatabaseError) -> bool:
    """Return whether an error names the runs' table (it may be missing: worth a look).

    "no such table: ..." (SQLite), 'relation "..." does not exist' (PostgreSQL); a lock or a
    lost connection does not, and is retried without a catalogue read under contention.
    """
    from ...models import CommandRun

    return CommandRun._meta.db_table in str(error)


def _advisory_key(command_id: str) -> int:
    """Return a signed 64-bit key for ``pg_advisory_xact_lock``, the same in every process."""
    digest = hashlib.blake2b(command_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class DatabaseReporter(Reporter):
    """Store runs as ``monitorkit.models.CommandRun`` rows, the last N per command id."""

    def __init__(self, settings: MonitorSettings = monitor_settings) -> None:
        super().__init__(settings)
        self.alias = settings.database_alias
        self._guard: _SqliteGuard | None = None
        self._table_seen = False
        self._table_missing_said = False
        self._sql: RunStatements | None = None  # made on the first write

    def describe(self) -> str:
        return f"DatabaseReporter(database {self.alias!r})"

    # On the command's thread.
    def bind(self) -> None:
        connection = connections[self.alias]
        if connection.vendor != "sqlite":
            return
        guard = next((w for w in connection.execute_wrappers if isinstance(w, _SqliteGuard)), None)
        if guard is None:
            guard = _SqliteGuard(connection)
            connection.execute_wrappers.append(guard)
        guard.binds += 1
        self._guard = guard

        def guarded() -> None:
            if connection not in _guarded:
                _guarded.append(connection)

        _under_gate(guarded)

    def unbind(self) -> None:
        guard, self._guard = self._guard, None
        if guard is None:
            return
        guard.binds -= 1
        if guard.binds > 0:
            return  # an outer run on the same connection still needs it
        wrappers = guard.connection.execute_wrappers
        if guard in wrappers:
            wrappers.remove(guard)

        def unguarded() -> None:
            if guard.connection in _guarded:
                _guarded.remove(guard.connection)

        _under_gate(unguarded)

    def write_blocked(self) -> bool:
        """Return whether this thread holds the gate or its connection is in a transaction.

        Either way the sender cannot write until this thread goes on: a signal handler's
        interrupted code, or the caller of a monitored command nested in its transaction,
        which goes on only once the run's flush returns. The connection is the one ``bind``
        guarded on this thread (nested runs share it).
        """
        if getattr(_held, "depth", 0):
            return True
        guard = self._guard
        return guard is not None and _in_transaction(guard.connection)

    def interrupt_command(self) -> None:
        """Interrupt the query the command's connection runs, from any thread (SQLite).

        ``sqlite3.Connection.interrupt`` is thread-safe and does nothing when no query runs.
        """
        guard = self._guard
        raw = getattr(guard.connection, "connection", None) if guard is not None else None
        interrupt = getattr(raw, "interrupt", None)
        if interrupt is not None:
            try:
                interrupt()
            except Exception:  # noqa: BLE001 - closed meanwhile: nothing runs on it
                logger.debug("monitorkit: the command's connection was closed meanwhile")

    # On the sender's thread.
    def write(self, record: RunRecord) -> None:
        """Store the run's row; nothing is written while the runs' table does not exist.

        Then the database is not migrated yet: the store is not installed there, as if
        monitorkit were not either. A ``migrate`` that creates the table stores its run with its
        finish (a later write of a run carries all an earlier one would); a command run before
        it (``check`` on a fresh database) is not recorded, and not kept in the spool: nothing
        says the database will ever be migrated (a throw-away build or CI database), and the
        spool, shared by the project, would deliver it to another one. Waiting for the table
        (on SQLite behind ``migrate``'s own queries) would only cost the command the flush
        bound and print errors. One INFO line says so.
        """
        if record.is_finished or self._table_exists():  # a finish tries first: one query less
            try:
                self._write(lambda: self._store(record))
                return
            except NoRunsTable:
                pass
        if not self._table_missing_said:
            self._table_missing_said = True
            logger.info(
                "monitorkit: no table for runs in database %r (not migrated yet); a run of "
                "%r is recorded only once `manage.py migrate` has created it",
                self.alias,
                record.id,
            )

    def deliver_spooled(self, record: RunRecord, state: dict[str, Any]) -> None:
        """Store a spooled record unless the row already holds a newer state of the run."""
        try:
            self._write(lambda: self._store(record, keep_newer=True))
        except NoRunsTable:  # it stays in the spool until the table exists
            raise ReporterError(f"database {self.alias!r} has no table for runs yet") from None

    def _write(self, write: Callable[[], None]) -> None:
        def attempt() -> None:
            try:
                self._gated(write)
            except IntegrityError as err:  # two processes took the same seq: take the next
                raise RetryableError(str(err)) from err
            except DatabaseError as err:  # locked, or the connection went away
                connections[self.alias].close()
                if _names_runs_table(err) and not self._table_exists():
                    raise NoRunsTable(str(err)) from err  # not migrated yet: no retry can help
                raise RetryableError(str(err)) from err

        try:
            call_with_retries(attempt, self.retry_policy)
        except RetryableError as err:
            raise ReporterError(f"database {self.alias!r} refused the write: {err}") from None

    def _gated(self, write: Callable[[], None]) -> None:
        """Write; on SQLite only under the gate and while no command is in a transaction."""
        connection = connections[self.alias]
        if connection.vendor != "sqlite":
            write()
            return
        until = time.monotonic() + remaining(TRANSACTION_WAIT)
        busy = min(SENDER_BUSY_TIMEOUT_MAX, until - time.monotonic())
        connection.ensure_connection()
        connection.cursor().execute(f"PRAGMA busy_timeout = {max(1, int(busy * 1000))}")
        while True:
            gate = sqlite_gate
            if not gate.acquire(timeout=max(0.0, until - time.monotonic())):
                raise RetryableError("a monitored command held the database until the deadline")
            try:
                if not any(_in_transaction(c) for c in list(_guarded)):
                    write()
                    return
            finally:
                gate.release()
            if time.monotonic() >= until:  # the spool takes it; the command is never held
                raise RetryableError("a monitored command's transaction was still open")
            forks.pause(min(0.05, max(0.0, until - time.monotonic())))  # a fork may go now

    def _table_exists(self) -> bool:
        """Return whether the runs' table exists; asked until it does, once per reporter.

        A read of the catalogue, outside the SQLite gate: it needs no write lock, so it never
        waits for a command's transaction (a writer's commit waits for it, for microseconds).
        """
        if self._table_seen:
            return True
        from ...models import CommandRun

        try:
            names = connections[self.alias].introspection.table_names()
        except DatabaseError:
            return True  # cannot tell: the write itself will say what is wrong
        self._table_seen = CommandRun._meta.db_table in names
        return self._table_seen

    def _store(self, record: RunRecord, keep_newer: bool = False) -> None:
        """Update the run's row; the first write of a run inserts it (whichever event it is).

        With ``keep_newer`` a row that holds a newer state of the run is left as it is. In SQL
        made once from the model's fields (``database_sql.py``: the ORM's first write cost
        every monitored run 3-4 ms).
        """
        connection = connections[self.alias]
        sql = self._sql
        if sql is None:
            sql = self._sql = RunStatements(connection)
        values = sql.values(self._fields(record), connection)
        with transaction.atomic(using=self.alias), connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # no statement outlives the deadline
                milliseconds = max(1, int(remaining(TRANSACTION_WAIT) * 1000))
                cursor.execute(f"SET LOCAL statement_timeout = {milliseconds}")
            # The UPDATE comes first: on SQLite it takes the write lock before anything is read.
            update, params = sql.update, [*values, record.run_id]
            if keep_newer:
                newer, extra = sql.not_newer_than(
                    sql.adapt("latest", db_time(record.latest), connection),
                    None if record.is_finished else [s.value for s in UNFINISHED],
                )
                update, params = f"{update} AND {newer}", params + extra
            ended = record.is_finished
            if ended:  # the run's first outcome is counted; a second finish is not
                cursor.execute(update + sql.first_outcome, params + _UNFINISHED_VALUES)
                if cursor.rowcount:
                    self._count(cursor, sql, record)
                    return
            elif not keep_newer:
                # A start or heartbeat never replaces an outcome: the sender's write can land
                # after the run's finish was delivered from the spool (its process lived on, a
                # command's transaction held SQLite past the flush bound).
                update, params = update + sql.first_outcome, params + _UNFINISHED_VALUES
            cursor.execute(update, params)
            if cursor.rowcount:
                return
            if keep_newer or not ended:
                cursor.execute(sql.exists, [record.run_id])
                if cursor.fetchone() is not None:
                    return  # the row holds a newer state of this run
            self._insert(cursor, connection, sql, record, values)
            if ended:
                self._count(cursor, sql, record)

    def _insert(
        self, cursor: Any, connection: Any, sql: RunStatements, record: RunRecord, values: list[Any]
    ) -> None:
        """Insert the run's row with the command id's next seq, and trim what is not kept."""
        if connection.vendor == "postgresql":  # one seq at a time per command id
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_advisory_key(record.id)])
        cursor.execute(sql.newest_seq, [record.id])
        seq = (cursor.fetchone()[0] or 0) + 1
        cursor.execute(sql.insert, [record.run_id, seq, *values])
        self._trim(cursor, connection, sql, record)

    # On the command's thread, before ``handle`` (``monitorkit/concurrency.py``).
    def take_lease(self, record: RunRecord, limit: int) -> Admission:
        """Insert the run's first row only while fewer than ``limit`` others are alive.

        The lease is the run's own row: its heartbeats keep it, its outcome releases it (the
        final write, within the flush bound), and a holder killed without a trace lets go once
        the judge calls its run stale (``staleness.is_stale``, the one staleness rule).

        One transaction on the command's connection, race-free (on PostgreSQL sent as one text,
        one round trip: ``lease.py``): on SQLite it starts with an
        ``UPDATE`` of the run's (absent) row, which takes the database's write lock, with
        SQLite's busy wait, before anything is read, so two starts are serialised whole. On
        PostgreSQL it starts with the transaction-level advisory lock of the command id (the
        one the seq of a first write takes), so two starts of one id queue there, and the
        second's count (a new snapshot per statement, READ COMMITTED) sees the first's row;
        starts of other ids never wait. A command already in a transaction takes no lease: its
        row would be seen only when the caller commits (logged by the caller, the run goes on).
        """
        from ...concurrency import Admission
        from ...staleness import is_stale
        from . import lease  # a command that limits its concurrency only: not every run's cost

        connection = connections[self.alias]
        if connection.in_atomic_block:
            raise ReporterError("the command runs inside a transaction: no lease is taken")
        sql = self._sql
        if sql is None:
            sql = self._sql = RunStatements(connection)
        values = sql.values(self._fields(record), connection)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if lease.sends_in_one_text(cursor):
                    return self._lease_in_one_text(cursor, sql, record, values, limit)
        with transaction.atomic(using=self.alias), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                milliseconds = max(1, int(self.settings.flush_timeout * 1000))
                cursor.execute(f"SET LOCAL statement_timeout = {milliseconds}")
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_advisory_key(record.id)])
            else:  # the write lock first (the row does not exist yet: nothing changes)
                cursor.execute(sql.update, [*values, record.run_id])
            cursor.execute(sql.holders, [record.id, record.run_id, *_UNFINISHED_VALUES])
            now = utcnow()
            holders = [
                run_id
                for run_id, status, started, latest in cursor.fetchall()
                if not is_stale(
                    RunRecord(
                        record.id,
                        "",
                        "",
                        run_id,
                        "",
                        None,
                        raw_time(started),
                        Status(status),
                        raw_time(latest) if latest is not None else None,
                    ),
                    now,
                    self.settings.stale_after,
                )
            ]
            if len(holders) >= limit:
                return Admission(False, tuple(holders))
            self._insert(cursor, connection, sql, record, values)
        return Admission(True, tuple(holders))

    def _lease_in_one_text(
        self, cursor: Any, sql: RunStatements, record: RunRecord, values: list[Any], limit: int
    ) -> Admission:
        """Take the lease on PostgreSQL in one round trip (``lease.py``)."""
        from ...concurrency import Admission
        from ...models import CommandRun
        from ...staleness import alive_since
        from . import lease

        timeout = max(1, int(self.settings.flush_timeout * 1000))
        table = sql.quote(CommandRun._meta.db_table)
        text, names = lease.lease_text(sql.quote, table, self.settings.retention, limit, timeout)
        since = db_time(alive_since(utcnow(), self.settings.stale_after))
        key = _advisory_key(record.id)
        params = lease.lease_params(names, key, record.run_id, record.id, values, since)
        try:
            cursor.execute(text, params)
            live = lease.live_runs(cursor)
        except Exception:
            try:  # a statement failed: the rest of the text, its COMMIT too, did not run
                cursor.execute("ROLLBACK")
            except DatabaseError:
                connections[self.alias].close()  # the connection is gone: a new one next time
            raise
        holders = tuple(run_id for run_id in live if run_id != record.run_id)
        return Admission(record.run_id in live, holders)

    def _count(self, cursor: Any, sql: RunStatements, record: RunRecord) -> None:
        """Count the run's outcome, in the transaction that stores it (``OutcomeCount``).

        The first run of a command id to end with an outcome inserts its counter; two that do
        at once on PostgreSQL meet at the unique constraint, and the second's whole write is
        tried again (an ``IntegrityError`` is retried, as for two runs taking one seq), when it
        finds the row to add to.
        """
        key = [record.id, record.status.value]
        cursor.execute(sql.bump, key)
        if not cursor.rowcount:
            cursor.execute(sql.first_count, key)

    def _trim(self, cursor: Any, connection: Any, sql: RunStatements, record: RunRecord) -> None:
        """Delete the command id's oldest rows of the kind just inserted, beyond what is kept.

        Real runs keep ``MONITORKIT_RETENTION`` of their own; ``MISSED`` rows keep the newest
        :data:`MISSED_KEPT` among themselves. A missed start never pushes a real run out.
        """
        missed = record.status is Status.MISSED
        kept = MISSED_KEPT if missed else self.settings.retention
        kind = "=" if missed else "<>"
        limit = connection.ops.limit_offset_sql(kept - 1, kept)
        same = [record.id, Status.MISSED.value]
        cursor.execute(sql.nth_newest.format(kind=kind, limit=limit), same)
        oldest_kept = cursor.fetchone()
        if oldest_kept is not None:  # fewer than ``kept`` of this kind: nothing to delete
            cursor.execute(sql.delete_older.format(kind=kind), [*same, oldest_kept[0]])

    @staticmethod
    def _fields(record: RunRecord) -> dict[str, Any]:
        return {
            "command_id": record.id,
            "name": record.name[:255],
            "params": record.params,
            "status": record.status.value,
            "started": db_time(record.started),
            "latest": db_time(record.latest),
            "finished": db_time(record.finished),
            "duration": record.duration,
            "message": record.message,
            "exception_type": record.exception_type,
            "traceback": record.traceback,
            "exit_code": record.exit_code,
            "host": record.host[:255],
            "pid": record.pid,
            "progress": record.progress,
            "metadata": record.metadata,
            "output": record.output,
            "unmet": record.unmet,
            "release": record.release,
            "cost": record.cost,
        }

    def store_missed(self, record: RunRecord) -> None:
        """Store a ``MISSED`` record; its ``run_id`` is unique, so a second time changes nothing."""
        self.deliver_spooled(record, {})

    def health_store(self) -> DatabaseHealthStore:
        """Return the watcher's store in this database (``health.py``)."""
        from .health import DatabaseHealthStore

        return DatabaseHealthStore(self.alias)

    # The read side.
    def outcome_counts(self) -> dict[str, dict[str, int]]:
        """Return every command id's counts of runs by outcome (``OutcomeCount``): one query."""
        from ...models import OutcomeCount

        counts: dict[str, dict[str, int]] = {}
        rows = OutcomeCount.objects.using(self.alias).values_list("command_id", "outcome", "count")
        for command_id, ended, count in rows:
            counts.setdefault(command_id, {})[ended] = count
        return counts

    def latest_runs(self) -> list[RunRecord]:
        from ...models import CommandRun

        runs = CommandRun.objects.using(self.alias)
        newest = runs.filter(command_id=OuterRef("command_id")).order_by("-seq").values("seq")[:1]
        rows = runs.filter(seq=Subquery(newest)).order_by("command_id")
        return [self._record(row) for row in rows]

    def command_history(self, command_id: str, limit: int | None = None) -> list[RunRecord]:
        from ...models import CommandRun

        rows = CommandRun.objects.using(self.alias).filter(command_id=command_id).order_by("-seq")
        return [self._record(row) for row in (rows[:limit] if limit else rows)]

    def run(self, command_id: str, run_id: str) -> RunRecord | None:
        """Return one kept run: one query by its run id."""
        from ...models import CommandRun

        rows = CommandRun.objects.using(self.alias).filter(command_id=command_id, run_id=run_id)
        row = rows.order_by("-seq").first()
        return None if row is None else self._record(row)

    def command_page(self, command_id: str, offset: int, limit: int) -> list[RunRecord]:
        """Return one page of a command id's runs: one query, ``LIMIT``/``OFFSET``."""
        from ...models import CommandRun

        rows = CommandRun.objects.using(self.alias).filter(command_id=command_id).order_by("-seq")
        return [self._record(row) for row in rows[offset : offset + limit]]

    def command_outcomes(self, command_id: str) -> list[dict[str, Any]]:
        """Return every kept run's outcome of a command id: the strip's five columns and the
        run's cost (for its percentiles).

        Read raw, as ``recent_outcomes``: at ten thousand kept runs Django's converters alone
        cost more than the query.
        """
        from ...models import CommandRun

        ops = connections[self.alias].ops
        table, cost = ops.quote_name(CommandRun._meta.db_table), ops.quote_name("cost")
        with connections[self.alias].cursor() as cursor:
            cursor.execute(
                f"SELECT run_id, seq, status, started, duration, {cost} FROM {table} "
                "WHERE command_id = %s ORDER BY seq DESC",
                [command_id],
            )
            rows = cursor.fetchall()
        return [
            outcome(run_id, seq, status, _timestamp(started), duration, _json(spent))
            for run_id, seq, status, started, duration, spent in rows
        ]

    def recent_runs(self, depth: int | None = None) -> dict[str, list[RunRecord]]:
        """Return the newest ``depth`` runs of every command id: one query, a window function.

        ``None``: every kept run (then no window is needed).
        """
        from django.db.models import F, Window
        from django.db.models.functions import RowNumber

        from ...models import CommandRun

        ranked = CommandRun.objects.using(self.alias).order_by("command_id", "-seq")
        if depth is not None:
            ranked = ranked.annotate(
                place=Window(RowNumber(), partition_by=[F("command_id")], order_by=F("seq").desc())
            ).filter(place__lte=depth)
        runs: dict[str, list[RunRecord]] = {}
        for row in ranked:
            runs.setdefault(row.command_id, []).append(self._record(row))
        return runs

    def judge_runs(self, depth: int) -> dict[str, list[RunRecord]]:
        """Return every command id's ``judge_window`` for the judge, in two queries.

        The newest record and the newest real (not ``MISSED`` nor ``SKIPPED``) run of each id
        whole; the older records of an id whose newest did not ``FINISHED`` light
        (:meth:`_newest_rows`): run id, seq, status, start and latest heartbeat, the rest left
        at its default. That is all ``health.assess`` reads of them; a healthy id costs one
        whole row, as ``latest_runs``.
        """
        from ...models import CommandRun

        table = connections[self.alias].ops.quote_name(CommandRun._meta.db_table)
        # Each id's top seq from the (command_id, seq) index alone, and its top real seq by
        # walking that index down from the top to the first real run: one row read for almost
        # every id (a MAX over a CASE of the status read every kept row of every id: 24 ms
        # against 9 ms at 500 ids x 100 runs on SQLite). The two seqs are computed once per id
        # in a common table expression, then each fetches its row through the index; inside
        # the join's filter (r.seq = top OR r.seq = top_real), PostgreSQL ran the walk once
        # per row of the table (5.5 s against 0.5 s at 10,000 ids x 100 runs, benchmark row 18).
        newest = (
            f"WITH n AS (SELECT command_id, top, (SELECT x.seq FROM {table} x "
            f"WHERE x.command_id = m.command_id AND x.status NOT IN (%s, %s) "
            f"ORDER BY x.seq DESC LIMIT 1) AS top_real FROM (SELECT command_id, MAX(seq) AS top "
            f"FROM {table} GROUP BY command_id) m) "
            f"SELECT r.* FROM n JOIN {table} r ON r.command_id = n.command_id AND r.seq = n.top "
            f"UNION ALL SELECT r.* FROM n JOIN {table} r ON r.command_id = n.command_id "
            f"AND r.seq = n.top_real WHERE n.top_real <> n.top"
        )
        not_real = [Status.MISSED.value, Status.SKIPPED.value]  # what the judge passes over
        rows = CommandRun.objects.using(self.alias).raw(newest, not_real)
        whole = {row.run_id: self._record(row) for row in rows}
        found: dict[str, list[RunRecord]] = {}
        columns = ("command_id", "run_id", "seq", "status", "started", "latest")
        for command_id, run_id, seq, status, started, latest, _ in self._newest_rows(
            columns, depth, unless_newest=Status.FINISHED
        ):
            record = whole.get(run_id)
            if record is None:
                record = RunRecord(
                    id=command_id,
                    name=command_id,
                    params="",
                    run_id=run_id,
                    host="",
                    pid=None,
                    started=raw_time(started),
                    status=Status(status),
                    latest=raw_time(latest) if latest is not None else None,
                    seq=seq,
                )
            found.setdefault(command_id, []).append(record)
        for record in whole.values():  # an id whose newest FINISHED: that run alone
            if record.status is Status.FINISHED and record.id not in found:
                found[record.id] = [record]
        return found

    def recent_outcomes(self, depth: int) -> dict[str, list[dict[str, Any]]]:
        """Return the newest ``depth`` runs' outcomes of every command id in one light query.

        Only the columns the strip shows (:meth:`_newest_rows`). Read on every poll of the
        status page, for every command id: it is kept lean on purpose.
        """
        found: dict[str, list[dict[str, Any]]] = {}
        columns = ("command_id", "run_id", "seq", "status", "started", "duration")
        newest = self._newest_rows(columns, depth)
        strip: list[dict[str, Any]] = []
        shown: str | None = None
        for command_id, run_id, seq, status, started, duration, _ in newest:
            if command_id != shown:  # the rows come by command id: one list each, no lookup
                shown, strip = command_id, found.setdefault(command_id, [])
            strip.append(outcome(run_id, seq, status, _timestamp(started), duration))
        return found

    def _newest_rows(
        self, columns: Sequence[str], depth: int, unless_newest: Status | None = None
    ) -> list[tuple[Any, ...]]:
        """Return ``columns`` (and one more, to ignore) of every command id's newest ``depth``
        rows, newest first.

        Seqs of an id have gaps (``MISSED`` rows are trimmed among themselves, real runs among
        theirs), so ``seq > top - depth`` may pick fewer than the newest ``depth`` rows. That
        pick is one cheap query (a join on each id's top seq, along its index) and is right
        for every id without a gap in its window, almost all of them; an id that got fewer
        rows than it keeps is read again by a window function, restricted to such ids, in a
        second query. ``unless_newest``: leave out the ids whose newest row has this status.
        """
        from ...models import CommandRun

        connection = connections[self.alias]
        table = connection.ops.quote_name(CommandRun._meta.db_table)
        as_text = connection.vendor == "sqlite"
        picked = ", ".join(_column(column, "r.", as_text) for column in columns)
        sql = (
            f"SELECT {picked}, m.kept FROM {table} r JOIN (SELECT command_id, MAX(seq) AS top, "
            f"COUNT(*) AS kept FROM {table} GROUP BY command_id) m "
            f"ON r.command_id = m.command_id"
        )
        params: list[Any] = []
        if unless_newest is not None:
            sql += f" JOIN {table} t ON t.command_id = m.command_id AND t.seq = m.top"
            sql += " WHERE t.status <> %s AND"
            params.append(unless_newest.value)
        else:
            sql += " WHERE"
        sql += " r.seq > m.top - %s ORDER BY r.command_id, r.seq DESC"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, depth])
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            # Counted in C (the strip reads tens of thousands of rows on every poll).
            got = Counter(map(itemgetter(0), rows))
            kept = dict(map(itemgetter(0, -1), rows))
            gapped = [cid for cid, count in got.items() if count < min(depth, kept[cid])]
            if not gapped:
                return rows
            listed = ", ".join(columns)
            outer = ", ".join(_column(column, "", as_text) for column in columns)
            order = "OVER (PARTITION BY command_id ORDER BY seq DESC)"
            again: list[tuple[Any, ...]] = []
            for start in range(0, len(gapped), GAPPED_BATCH):
                batch = gapped[start : start + GAPPED_BATCH]
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(
                    f"SELECT {outer}, NULL FROM (SELECT {listed}, ROW_NUMBER() {order} AS "
                    f"place FROM {table} WHERE command_id IN ({marks})) ranked "
                    f"WHERE place <= %s ORDER BY command_id, seq DESC",
                    [*batch, depth],
                )
                again += cursor.fetchall()
        read_again = set(gapped)
        merged = [row for row in rows if row[0] not in read_again] + again
        merged.sort(key=itemgetter(0))  # stable: each id's rows stay newest first
        return merged

    @staticmethod
    def _record(row: Any) -> RunRecord:
        return RunRecord(
            id=row.command_id,
            name=row.name,
            params=row.params,
            run_id=row.run_id,
            host=row.host,
            pid=None if row.status == Status.MISSED.value else row.pid,
            started=aware(row.started) or row.started,
            status=Status(row.status),
            latest=aware(row.latest),
            finished=aware(row.finished),
            message=row.message,
            exception_type=row.exception_type,
            traceback=row.traceback,
            exit_code=row.exit_code,
            progress=row.progress,
            metadata=row.metadata or {},
            seq=row.seq,
            output=row.output,
            unmet=row.unmet,
            release=row.release,
            cost=row.cost,
        )


def _column(column: str, prefix: str, as_text: bool) -> str:
    """Return how :meth:`DatabaseReporter._newest_rows` selects ``column``.

    On SQLite a timestamp is read as the text SQLite keeps (``YYYY-MM-DD HH:MM:SS[.ffffff]``):
    an expression has no declared type, so Django's converter (a regular expression in Python)
    does not turn it into a datetime that the strip formats back to text, tens of thousands of
    times a poll. Its readers take either (:func:`_timestamp`, ``columns.raw_time``).
    """
    if as_text and column in TIME_COLUMNS:
        return f"CAST({prefix}{column} AS TEXT)"
    return prefix + column


def _json(value: Any) -> Any:
    """Return a raw JSON column as data: the backends give its text (Django reads it so)."""
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _timestamp(value: Any) -> str | None:
    """Return a raw ``started`` column as a stored timestamp (``...T..:..:...ffffffZ``).

    SQLite gives its text, ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (:func:`_column`), or a naive UTC
    datetime where a query leaves Django's converter of the declared type at work; either is
    formatted as it is, no time zone put on and taken off again, thousands of times a poll.
    PostgreSQL gives an aware datetime.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat(timespec="microseconds") + "Z"  # as format_timestamp
        return format_timestamp(value)
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}Z"
        if len(value) == 19 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}.000000Z"
        return format_timestamp(dt.datetime.fromisoformat(value))
    return None
