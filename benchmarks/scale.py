"""Row 18 (issue 18): the watcher and the overview at 10,000 command ids x 100 runs, PostgreSQL.

    python -m benchmarks.scale [--ids 10000] [--runs 100]

Starts a throw-away PostgreSQL cluster (``tests/pg.py``: ``initdb`` in a temporary directory,
what ``bash scripts/setup`` installs), fills it with ``--runs`` finished runs for each of a tenth
of the ids (every tenth id failing, every fifth with a schedule) by ``COPY``, and measures one
steady watcher cycle and the overview's server-side build (``overview.command_health``, what the
page, its JSON and the metrics read), counting their queries; then fills it to ``--ids`` ids and
measures again. The query counts must not change with the number of ids. Prints one JSON object;
``benchmarks/run.py`` turns it into rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
import uuid
from typing import Any

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
COLUMNS = (
    "command_id",
    "seq",
    "run_id",
    "name",
    "params",
    "status",
    "started",
    "latest",
    "finished",
    "duration",
    "message",
    "host",
    "pid",
    "metadata",
)


def configure(database: dict[str, Any]) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "monitorkit"],
        DATABASES={"default": database},
        USE_TZ=True,
        TIME_ZONE="UTC",
        MONITORKIT_SCHEDULES={},
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(first: int, last: int, runs: int, schedules: dict[str, Any]) -> None:
    """COPY ``runs`` finished runs for ids ``first`` to ``last - 1``; declare some schedules."""
    from django.db import connection

    with connection.cursor() as cursor:
        copy = f"COPY monitorkit_commandrun ({', '.join(COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(copy) as out:
            for n in range(first, last):
                command_id = f"job_{n:05d}"
                if n % 5 == 0:
                    schedules[command_id] = {"schedule": "0 * * * *", "start_margin": 600}
                for seq in range(1, runs + 1):
                    started = START + dt.timedelta(hours=seq)
                    ended = started + dt.timedelta(seconds=30)
                    failed = n % 10 == 0 and seq == runs
                    out.write_row(
                        (
                            command_id,
                            seq,
                            uuid.uuid4().hex,
                            command_id,
                            "",
                            "FAILED" if failed else "FINISHED",
                            started,
                            ended,
                            ended,
                            30.0,
                            "boom" if failed else "Command finished",
                            "bench",
                            1,
                            "{}",
                        )
                    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE monitorkit_commandrun")


def measure_at(watcher: Any, reporter: Any) -> dict[str, Any]:
    """Time a steady watcher cycle and the overview's build, and count their queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitorkit.conf import monitor_settings
    from monitorkit.health import watcher as watcher_health
    from monitorkit.health.overview import command_health
    from monitorkit.health.schedules import discover

    def overview_rows() -> list[Any]:
        """What every reader reads: the expectations, the watcher's beat once, the rows."""
        expectations = discover()
        seen = watcher_health.read(reporter.health_store(), expectations, monitor_settings)
        return command_health(reporter, expectations, seen)

    watcher.cycle()  # first sight of the new ids, their transitions
    cycles, overviews = [], []
    for _ in range(3):
        began = time.perf_counter()
        watcher.cycle()
        cycles.append(time.perf_counter() - began)
        began = time.perf_counter()
        rows = overview_rows()
        overviews.append(time.perf_counter() - began)
    with CaptureQueriesContext(connection) as cycle_queries:
        watcher.cycle()
    with CaptureQueriesContext(connection) as overview_queries:
        overview_rows()
    return {
        "cycle_s": statistics.median(cycles),
        "overview_s": statistics.median(overviews),
        "cycle_queries": len(cycle_queries),
        "overview_queries": len(overview_queries),
        "ids_shown": len(rows),
    }


def measure(ids: int, runs: int) -> dict[str, Any]:
    from django.conf import settings

    from monitorkit.health.watch import Watcher
    from monitorkit.stores.database.runs import DatabaseReporter

    now = START + dt.timedelta(hours=runs, minutes=5)
    small_ids = max(1, ids // 10)
    schedules: dict[str, Any] = {}
    began = time.perf_counter()
    fill(0, small_ids, runs, schedules)
    settings.MONITORKIT_SCHEDULES = dict(schedules)
    reporter = DatabaseReporter()
    watcher = Watcher(reporter, reporter.health_store(), [], clock=lambda: now)
    small = measure_at(watcher, reporter)
    fill(small_ids, ids, runs, schedules)
    settings.MONITORKIT_SCHEDULES = dict(schedules)
    large = measure_at(watcher, reporter)
    return {
        "ids": ids,
        "small_ids": small_ids,
        "runs_per_id": runs,
        "small": small,
        "large": large,
        "total_s": time.perf_counter() - began,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("--ids", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args(argv)
    from tests.pg import remove_cluster, start_cluster

    cluster = start_cluster()
    try:
        name = cluster.create_database()
        configure(cluster.database_settings(name))
        found = measure(args.ids, args.runs)
        from django.db import connections

        connections.close_all()
    finally:
        remove_cluster(cluster)
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
