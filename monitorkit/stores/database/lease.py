"""The concurrency policy's lease on PostgreSQL, in one round trip.

The lease is the run's own row (``DatabaseReporter.take_lease``). On PostgreSQL the whole
transaction is one text sent at once (the simple query protocol runs every statement of it, in
order, and answers once): ``BEGIN``, a bound on each statement, the transaction-level advisory
lock of the command id (the one the seq of a first write takes, so two starts of one id queue
there and starts of other ids never wait), the insert of the run's row only while fewer than
the limit of other runs are alive (a new snapshot per statement, READ COMMITTED: it sees the
row of a start that held the lock before it), the trim of rows beyond retention, the live runs
and the run's own row (if it was inserted: the lease is granted) read back, ``COMMIT``. Alive
is the judge's rule (``staleness.alive_since``): a heartbeat, or the start, at or after
``now - MONITORKIT_STALE_AFTER``.

Only a client-side binding cursor (Django's default for psycopg 3) sends several statements
with parameters as one text; with ``server_side_binding`` the reporter takes the lease in an
ordinary transaction instead, a round trip per statement.
"""

from __future__ import annotations

from typing import Any

from ...status import UNFINISHED, Status
from .sql import COLUMNS

_UNFINISHED_VALUES = [status.value for status in UNFINISHED]


def sends_in_one_text(cursor: Any) -> bool:
    """Return whether ``cursor`` (Django's wrapper) binds parameters on the client side."""
    try:
        from psycopg import ClientCursor
    except ImportError:  # psycopg2 binds on the client side too
        return True
    return isinstance(getattr(cursor, "cursor", None), ClientCursor)


def lease_text(
    quote: Any, table: str, kept: int, limit: int, timeout_ms: int
) -> tuple[str, list[str]]:
    """Return the transaction's text and the names of its parameters, in order."""
    run_id, seq, command_id, status = (quote(n) for n in ("run_id", "seq", "command_id", "status"))
    beat = f"COALESCE({quote('latest')}, {quote('started')})"
    marks = ", ".join(["%s"] * len(UNFINISHED))
    columns = ", ".join(quote(name) for name in COLUMNS)
    values = ", ".join(["%s"] * len(COLUMNS))
    alive = f"{command_id} = %s AND {status} IN ({marks}) AND {beat} >= %s"
    text = "; ".join(
        (
            "BEGIN",
            f"SET LOCAL statement_timeout = {int(timeout_ms)}",
            "SELECT pg_advisory_xact_lock(%s) AS locked",
            f"INSERT INTO {table} ({run_id}, {seq}, {columns}) "
            f"SELECT %s, COALESCE(MAX({seq}), 0) + 1, {values} FROM {table} "
            f"WHERE {command_id} = %s HAVING (SELECT COUNT(*) FROM {table} WHERE {alive} "
            f"AND {run_id} <> %s) < {int(limit)}",
            f"DELETE FROM {table} WHERE {command_id} = %s AND {status} <> %s AND {seq} < "
            f"(SELECT {seq} FROM {table} WHERE {command_id} = %s AND {status} <> %s "
            f"ORDER BY {seq} DESC LIMIT 1 OFFSET {int(kept) - 1})",
            f"SELECT {run_id} FROM {table} WHERE ({alive}) OR {run_id} = %s ORDER BY {seq}",
            "COMMIT",
        )
    )
    names = [
        "key",
        "run_id",
        *COLUMNS,
        "command_id",
        "command_id",
        *["unfinished"] * len(UNFINISHED),
        "since",
        "run_id",
        "command_id",
        "missed",
        "command_id",
        "missed",
        "command_id",
        *["unfinished"] * len(UNFINISHED),
        "since",
        "run_id",
    ]
    return text, names


def lease_params(
    names: list[str], key: int, run_id: str, command_id: str, values: list[Any], since: Any
) -> list[Any]:
    """Return the parameters of :func:`lease_text` in the order of ``names``."""
    column_values = dict(zip(COLUMNS, values, strict=True))
    unfinished = iter(_UNFINISHED_VALUES * 2)
    fixed = {
        "key": key,
        "run_id": run_id,
        "command_id": command_id,
        "missed": Status.MISSED.value,
        "since": since,
    }
    params: list[Any] = []
    for name in names:
        if name == "unfinished":
            params.append(next(unfinished))
        elif name in column_values and name not in fixed:
            params.append(column_values[name])
        else:
            params.append(fixed[name])
    return params


def live_runs(cursor: Any) -> list[str]:
    """Return the run ids of the text's last ``SELECT`` (psycopg 3 answers each statement)."""
    raw = getattr(cursor, "cursor", cursor)
    found: list[str] | None = None
    while True:
        description = raw.description
        if description is not None and description[0].name == "run_id":
            found = [row[0] for row in raw.fetchall()]
        if not raw.nextset():
            break
    if found is None:
        raise RuntimeError("PostgreSQL answered the lease without its live runs")
    return found
