"""What a run cost: the process's CPU time and peak memory, and the run's database queries.

CPU time and peak memory are the process's, read once with ``resource.getrusage`` as the run
ends: nothing is measured on the command's path. For a management command the process is the
run (Django's start-up included); for a function monitored in a long-lived process
(``monitorkit.monitor``) they are the process's totals so far.

Queries are counted per database alias by an execute wrapper (Django's
``connection.execute_wrapper``) on each connection of the run's own thread: a counter and a
``perf_counter`` pair per query, nothing else. Connections are per thread, so monitorkit's own
writes, on the sender's thread and its connection, are never counted; nor are queries of
threads the command starts itself. A connection the thread already has when the run starts is
counted from then; one it opens during the run from its ``connection_created`` signal. A
``many`` execution (``executemany``) is one query.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..measures import DATABASES, QUERY_COUNT, QUERY_SECONDS, Measure

if sys.platform != "win32":  # imported here, not as the run ends: a signal's handler may end it
    import resource

#: The query counts of the runs going on, by the thread whose queries they count.
_counting: dict[int, list[RunQueries]] = {}
_receiver_connected = False


class QueryCounter:
    """An execute wrapper: count one connection's queries and add up their time."""

    __slots__ = ("alias", "count", "seconds")

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.count = 0
        self.seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


class RunQueries:
    """The query counters of one run: one on each connection its thread uses."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.counters: list[tuple[Any, QueryCounter]] = []

    def start(self) -> None:
        """Count the queries of this thread's connections from now on (the run's thread)."""
        from django.db import connections

        _connect_receiver()
        for connection in connections.all(initialized_only=True):
            self.watch(connection)
        _counting.setdefault(self.thread, []).append(self)

    def watch(self, connection: Any) -> None:
        """Count the queries of ``connection`` (once however often it is seen)."""
        if any(known is connection for known, _ in self.counters):
            return
        counter = QueryCounter(connection.alias)
        connection.execute_wrappers.append(counter)
        self.counters.append((connection, counter))

    def stop(self) -> None:
        """Stop counting: the wrappers leave the connections (on the run's thread)."""
        runs = _counting.get(self.thread, [])
        if self in runs:
            runs.remove(self)
        if not runs:
            _counting.pop(self.thread, None)
        for connection, counter in self.counters:
            wrappers = connection.execute_wrappers
            if counter in wrappers:
                wrappers.remove(counter)

    def by_alias(self) -> dict[str, dict[str, Any]]:
        """Return ``{alias: {"queries": n, "seconds": s}}`` so far (lock-free: a signal may ask)."""
        found: dict[str, dict[str, Any]] = {}
        for _, counter in list(self.counters):
            entry = found.setdefault(counter.alias, {QUERY_COUNT: 0, QUERY_SECONDS: 0.0})
            entry[QUERY_COUNT] += counter.count
            entry[QUERY_SECONDS] += counter.seconds
        for entry in found.values():
            entry[QUERY_SECONDS] = round(entry[QUERY_SECONDS], 6)
        return found


def _connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Count a connection opened during a run, on the thread of that run."""
    for run in _counting.get(threading.get_ident(), ()):
        run.watch(connection)


def _connect_receiver() -> None:
    """Listen to ``connection_created`` from the first run on (one receiver serves them all).

    No lock of ours (a fork could leave one taken): two threads that connect it at once make
    one receiver, by its ``dispatch_uid``.
    """
    global _receiver_connected
    if not _receiver_connected:
        from django.db.backends.signals import connection_created

        connection_created.connect(
            _connection_created, weak=False, dispatch_uid="monitorkit-run-queries"
        )
        _receiver_connected = True


def process_usage() -> dict[str, Any]:
    """Return the process's CPU time (user, system) and peak memory so far, as a cost's keys.

    ``ru_maxrss`` is in kilobytes on Linux and the BSDs, in bytes on macOS. Empty where the
    ``resource`` module does not exist (Windows).
    """
    if sys.platform == "win32":  # pragma: no cover - no resource module
        return {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    scale = 1 if sys.platform == "darwin" else 1024
    return {
        Measure.CPU_USER.value: round(usage.ru_utime, 6),
        Measure.CPU_SYSTEM.value: round(usage.ru_stime, 6),
        Measure.PEAK_MEMORY.value: int(usage.ru_maxrss) * scale,
    }


def run_cost(queries: RunQueries | None) -> dict[str, Any]:
    """Return the cost of a run that ends now: the process's usage and the run's queries."""
    cost = process_usage()
    cost[DATABASES] = queries.by_alias() if queries is not None else {}
    return cost
