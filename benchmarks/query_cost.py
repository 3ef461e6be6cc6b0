"""Row 21 (issue 21, item 3): what counting a run's queries costs each query.

Every query of a monitored run passes through an execute wrapper that counts it and adds up its
time (``monitorkit/recording/cost.py``). The row runs the benchmark project's ``queries``
command, :data:`QUERIES` ``SELECT 1`` on SQLite (the cheapest query there is, so the wrapper's
share is the largest), monitored (database store) and as its plain twin, interleaved. The
command times its own loop of queries (the process's start and exit, whose noise is larger
than the whole difference, are left out); monitored, it runs the loop a second time with the
run's counter taken off its connection for the moment. The counter's cost is the difference of
the two loops in the same process, the target; what monitoring adds to each query in all (the
counter, the store's own wrapper, which holds the store's SQLite gate around each query of the
command, and the threads of a monitored process beside the loop) is the monitored loop's time
over the plain twin's, shown as context. ``--only 21`` reruns it alone.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

#: ``benchmarks.run.Bench``, as this module uses it (``run``, ``workdir``, ``record``).
Bench = Any

ROW = "21"
QUERIES = 100_000
TARGET_US = 1.0


def query_cost(bench: Bench, rounds: int) -> None:
    """Measure the row: ``rounds`` pairs, plain and monitored."""
    timing = bench.workdir / "query-timing.json"
    args = ["queries", str(QUERIES), str(timing)]
    plain_loops, counted_loops, uncounted_loops = [], [], []
    for _ in range(rounds):
        for plain in (True, False):
            process = bench.run(args, plain=plain)
            if process.returncode != 0:
                raise SystemExit(f"row {ROW}: {args} exited {process.returncode}")
            seconds = json.loads(timing.read_text())
            if plain:
                plain_loops.append(seconds["loop"])
                continue
            if seconds.get("counted") != QUERIES + 1:  # and the one that opened it
                raise SystemExit(f"row {ROW}: the run counted {seconds.get('counted')} queries")
            counted_loops.append(seconds["loop"])
            uncounted_loops.append(seconds["uncounted"])
    counted = statistics.median(counted_loops)
    uncounted = statistics.median(uncounted_loops)
    plain_s = statistics.median(plain_loops)
    counter_us = statistics.median(
        (c - u) / QUERIES * 1e6 for c, u in zip(counted_loops, uncounted_loops, strict=True)
    )
    bench.record(
        ROW,
        f"the query counter, per query: {QUERIES:,} `SELECT 1` on SQLite timed by the "
        "monitored command, counted / with the counter taken off",
        f"{counter_us:.2f} µs ({counted * 1000:.0f} vs {uncounted * 1000:.0f} ms)",
        f"<= {TARGET_US:g} µs",
        counter_us <= TARGET_US,
        per_query_us=counter_us,
        queries=QUERIES,
    )
    total_us = (counted - plain_s) / QUERIES * 1e6
    bench.record(
        ROW,
        "monitoring in all, per query: the same loop monitored (database store on SQLite) / plain",
        f"{total_us:.2f} µs ({counted * 1000:.0f} vs {plain_s * 1000:.0f} ms)",
        "context",
        None,
        per_query_us=total_us,
        queries=QUERIES,
    )
