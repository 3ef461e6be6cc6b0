"""What a run cost, measure by measure: the one vocabulary of a record's ``cost``.

A run's ``cost`` is stored as plain JSON (``monitorkit/recording/cost.py`` writes it as the run
ends)::

    {"cpu_user_seconds": 0.41, "cpu_system_seconds": 0.05, "peak_memory_bytes": 61865984,
     "databases": {"default": {"queries": 12, "seconds": 0.0031}}}

Every reader (the command page's percentiles and flags, the run page, the metrics) asks a
:class:`Measure` for its value in a cost (:meth:`Measure.of`) and for its traits, and never
spells a key itself. The query measures add up the run's databases.
"""

from __future__ import annotations

import enum
from typing import Any

#: The key of the per-database counts in a cost: ``{alias: {"queries": n, "seconds": s}}``.
DATABASES = "databases"
#: Within one database's entry: how many queries ran, and their time in seconds.
QUERY_COUNT = "queries"
QUERY_SECONDS = "seconds"


class Measure(enum.Enum):
    """One measure of a run's cost; its value is its key in the stored cost (or the sum's)."""

    CPU_USER = "cpu_user_seconds"
    CPU_SYSTEM = "cpu_system_seconds"
    PEAK_MEMORY = "peak_memory_bytes"
    QUERIES = "queries"
    QUERY_TIME = "query_seconds"

    @property
    def label(self) -> str:
        """The measure in words, as the pages name it."""
        return _LABELS[self]

    @property
    def unit(self) -> str:
        """``seconds``, ``bytes`` or ``queries``: how a page writes a value of it."""
        return _UNITS[self]

    @property
    def flag(self) -> str | None:
        """The flag of a run far above its command's usual value of this measure, if any.

        Only peak memory and the query count are flagged: CPU time follows the duration, which
        is flagged slow already, and query time is part of it.
        """
        return _FLAGS.get(self)

    def of(self, cost: Any) -> float | None:
        """Return this measure's value in a stored ``cost`` (``None``: not known)."""
        if not isinstance(cost, dict):
            return None
        if self in (Measure.QUERIES, Measure.QUERY_TIME):
            databases = cost.get(DATABASES)
            if not isinstance(databases, dict):
                return None
            key = QUERY_COUNT if self is Measure.QUERIES else QUERY_SECONDS
            values = [_number(e.get(key)) for e in databases.values() if isinstance(e, dict)]
            return sum(v for v in values if v is not None)
        return _number(cost.get(self.value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


_LABELS = {
    Measure.CPU_USER: "CPU (user)",
    Measure.CPU_SYSTEM: "CPU (system)",
    Measure.PEAK_MEMORY: "Peak memory",
    Measure.QUERIES: "Queries",
    Measure.QUERY_TIME: "Query time",
}
_UNITS = {
    Measure.CPU_USER: "seconds",
    Measure.CPU_SYSTEM: "seconds",
    Measure.PEAK_MEMORY: "bytes",
    Measure.QUERIES: "queries",
    Measure.QUERY_TIME: "seconds",
}
_FLAGS = {Measure.PEAK_MEMORY: "high-memory", Measure.QUERIES: "many-queries"}
