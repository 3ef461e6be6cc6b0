"""The concurrency policy's lease in a Realtime Database: one node per command id.

::

    <FIREBASE_MONITORING_KEY>/leases/<command id>/<run id>   {"started": ..., "latest": ...}

Each live holder is a child, kept fresh by its run's heartbeats (``FirebaseReporter`` adds its
``latest`` to the PATCH that writes each heartbeat) and removed by the PATCH that writes its
outcome. A holder killed without a trace stays until the judge calls it stale
(``staleness.is_stale`` on its ``latest``), and the next start drops it.

A start is a conditional write of the whole node (``if-match``, the REST API's compare and set):
first against the ETag of an empty node (``null_etag``), so a start that finds no holder costs
one round trip. Otherwise the 412 answer carries the node and its ETag: a start that finds the
limit reached is refused with no further request, and one that finds room (or stale holders to
drop) writes again against that ETag, until no other start wrote in between.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from ... import retry
from ...concurrency import Admission
from ...record import RunRecord, Status, format_timestamp, parse_timestamp, utcnow
from ..base import ReporterError

if TYPE_CHECKING:
    from .http import RealtimeDatabaseClient

#: The ETag of a location that holds nothing (what the Realtime Database and its emulator send).
NULL_ETAG = "null_etag"
#: Conditional writes tried before giving up (``firebase-admin``'s transactions try 25).
MAX_ROUNDS = 25


def lease_path(root: tuple[str, ...], command_id: str) -> tuple[str, ...]:
    """Return the node that holds the live runs of ``command_id``."""
    return (*root, "leases", command_id)


def take_lease(
    client: RealtimeDatabaseClient,
    root: tuple[str, ...],
    record: RunRecord,
    limit: int,
    stale_after: float,
    bound: float,
) -> Admission:
    """Add ``record``'s run to its command id's live runs while fewer than ``limit`` are alive.

    Every request stops at ``bound`` seconds from now (the command is waiting).
    """
    path = lease_path(root, record.id)
    started = format_timestamp(record.started)
    mine = {"started": started, "latest": format_timestamp(record.latest) or started}
    stored: dict[str, Any] = {}
    etag = NULL_ETAG
    with retry.deadline(time.monotonic() + bound):
        for _ in range(MAX_ROUNDS):
            now = utcnow()
            live = {
                run_id: held
                for run_id, held in stored.items()
                if run_id != record.run_id and _alive(record.id, run_id, held, now, stale_after)
            }
            holders = tuple(sorted(live, key=lambda run_id: str(live[run_id].get("started"))))
            if len(live) >= limit:
                return Admission(False, holders)
            reply = client.put(path, {**live, record.run_id: mine}, if_match=etag)
            if reply.status != 412:
                return Admission(True, holders)
            if reply.etag is None:
                raise ReporterError(
                    f"Firebase sent no ETag for /{'/'.join(path)}; the concurrency policy needs "
                    "the REST API's conditional requests (if-match)"
                )
            stored = reply.value if isinstance(reply.value, dict) else {}
            etag = reply.etag
    raise ReporterError(
        f"could not take the lease /{'/'.join(path)}: {MAX_ROUNDS} conditional writes in a row "
        "lost to other starts writing it at the same time"
    )


def _alive(command_id: str, run_id: str, held: Any, now: dt.datetime, stale_after: float) -> bool:
    """Return whether a holder's run is alive by the judge's one staleness rule."""
    from ...staleness import is_stale

    if not isinstance(held, dict):
        return False
    try:
        latest = parse_timestamp(held.get("latest"))
        started = parse_timestamp(held.get("started")) or latest
    except ValueError:
        return False
    if started is None:
        return False
    run = RunRecord(command_id, "", "", run_id, "", None, started, Status.RUNNING, latest)
    return not is_stale(run, now, stale_after)


def heartbeat_entry(record: RunRecord) -> dict[str, Any]:
    """Return the PATCH entries that keep (a heartbeat) or release (an outcome) ``record``'s
    lease, relative to the store's root."""
    path = f"leases/{record.id}/{record.run_id}"
    if record.is_finished:
        return {path: None}
    return {f"{path}/latest": format_timestamp(record.latest or record.started)}
