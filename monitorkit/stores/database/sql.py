"""The embedded store's writes of a run, in SQL built once from ``CommandRun``'s fields.

Each run's start and finish are written by the sender, on its own connection, often as the
first ORM use of the process: through the ORM, the first write cost a monitored command about
12 million instructions (3-4 ms on 3.11: building and compiling four queries, a ``Collector``
for the trim, three of Django's patterns compiled), paid by every monitored run (issue 16,
benchmark row 15). Here the statements are text made once per connection's vendor, and the
values are adapted by the model's own fields (``Field.get_db_prep_save``, what the ORM's
compilers call), so time zones, JSON and every backend's types are handled as the ORM would.
Only the limit of the trim's look-up is the backend's own syntax (``ops.limit_offset_sql``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...status import UNFINISHED

#: The columns a write sets (all but ``id``, ``run_id`` and ``seq``), in a fixed order.
COLUMNS = (
    "command_id",
    "name",
    "params",
    "status",
    "started",
    "latest",
    "finished",
    "duration",
    "message",
    "exception_type",
    "traceback",
    "exit_code",
    "host",
    "pid",
    "progress",
    "metadata",
    "output",
    "unmet",
    "release",
    "cost",
)


class RunStatements:
    """The SQL of one vendor's run writes, and the values adapted for one connection."""

    __slots__ = (
        "bump",
        "delete_older",
        "exists",
        "fields",
        "first_count",
        "first_outcome",
        "holders",
        "insert",
        "newest_seq",
        "nth_newest",
        "quote",
        "update",
    )

    def __init__(self, connection: Any) -> None:
        from ...models import CommandRun, OutcomeCount

        meta = CommandRun._meta
        quote = self.quote = connection.ops.quote_name
        table = quote(meta.db_table)
        self.fields: list[Any] = [meta.get_field(name) for name in COLUMNS]
        columns = [quote(field.column) for field in self.fields]
        run_id, seq = quote("run_id"), quote("seq")
        command_id, status = quote("command_id"), quote("status")
        assigned = ", ".join(f"{column} = %s" for column in columns)
        #: The run's row updated: the values, then the run id (and a ``newer`` condition's).
        self.update = f"UPDATE {table} SET {assigned} WHERE {run_id} = %s"
        self.exists = f"SELECT 1 FROM {table} WHERE {run_id} = %s"
        self.newest_seq = f"SELECT MAX({seq}) FROM {table} WHERE {command_id} = %s"
        marks = ", ".join(["%s"] * (len(columns) + 2))
        names = ", ".join(columns)
        self.insert = f"INSERT INTO {table} ({run_id}, {seq}, {names}) VALUES ({marks})"
        # Both per kind of row, ``{kind}`` being ``=`` (MISSED rows) or ``<>`` (real runs): the
        # seq of the newest row to keep, then the delete of that kind's rows below it.
        kind = f"{command_id} = %s AND {status} {{kind}} %s"
        self.nth_newest = f"SELECT {seq} FROM {table} WHERE {kind} ORDER BY {seq} DESC {{limit}}"
        self.delete_older = f"DELETE FROM {table} WHERE {kind} AND {seq} < %s"
        #: The other unfinished runs of a command id, oldest first (``lease.py``).
        self.holders = (
            f"SELECT {run_id}, {status}, {quote('started')}, {quote('latest')} FROM {table} "
            f"WHERE {command_id} = %s AND {run_id} <> %s AND {status} IN "
            f"({', '.join(['%s'] * len(UNFINISHED))}) ORDER BY {seq}"
        )
        #: Appended to ``update``: the row holds no outcome yet, so a finish stores the run's
        #: first one, and a start or heartbeat never replaces one (the values: the unfinished
        #: statuses).
        self.first_outcome = f" AND {status} IN ({', '.join(['%s'] * len(UNFINISHED))})"
        # The counter of runs by outcome: one more, then (the first of its kind) its row.
        counts = quote(OutcomeCount._meta.db_table)
        outcome, count = quote("outcome"), quote("count")
        self.bump = (
            f"UPDATE {counts} SET {count} = {count} + 1 WHERE {command_id} = %s AND {outcome} = %s"
        )
        self.first_count = (
            f"INSERT INTO {counts} ({command_id}, {outcome}, {count}) VALUES (%s, %s, 1)"
        )

    def values(self, fields: Mapping[str, Any], connection: Any) -> list[Any]:
        """Return ``fields``' values in ``COLUMNS`` order, as the database takes them."""
        return [
            field.get_db_prep_save(fields[field.name], connection=connection)
            for field in self.fields
        ]

    def adapt(self, name: str, value: Any, connection: Any) -> Any:
        """Return one column's value as the database takes it."""
        return self.fields[COLUMNS.index(name)].get_db_prep_save(value, connection=connection)

    def not_newer_than(
        self, latest: Any, unfinished: Sequence[str] | None
    ) -> tuple[str, list[Any]]:
        """Return the condition (and its values) matching a row not newer than a record's state.

        ``latest``: the record's latest heartbeat as the database takes it (``None``: only
        rows without one match); ``unfinished``: when the record is unfinished, the statuses
        the row may hold (a finished row is never replaced by an unfinished record).
        """
        column, status = self.quote("latest"), self.quote("status")
        condition, params = f"{column} IS NULL", []
        if latest is not None:
            condition, params = f"({column} IS NULL OR {column} <= %s)", [latest]
        if unfinished is not None:
            condition += f" AND {status} IN ({', '.join(['%s'] * len(unfinished))})"
            params += list(unfinished)
        return condition, params
