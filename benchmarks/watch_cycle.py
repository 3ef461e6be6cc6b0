"""One watcher cycle over many command ids, on SQLite: its time and its query count.

    python -m benchmarks.watch_cycle [--ids 1000] [--runs 100]

Builds a throw-away SQLite database with ``--ids`` command ids of ``--runs`` runs each (every
tenth id failing, every fifth with a schedule), then times ``Watcher.cycle()``: the first cycle
(every id seen for the first time) and the steady state (median of 5 cycles), and counts the
queries of a steady cycle at a tenth of the ids and at all of them: the count must not grow with
the number of ids (no N+1). Prints one JSON object; ``benchmarks/run.py`` turns it into rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any


def configure(db: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "monitorkit"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db)}},
        USE_TZ=True,
        TIME_ZONE="UTC",
        MONITORKIT_SPOOL_DIR=str(db.parent / "spool"),
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(first: int, last: int, runs: int, start: dt.datetime, schedules: dict[str, Any]) -> None:
    """Insert ``runs`` finished runs for ids ``first`` to ``last - 1``; declare some schedules."""
    from monitorkit.models import CommandRun

    batch: list[CommandRun] = []
    for n in range(first, last):
        command_id = f"job_{n:05d}"
        if n % 5 == 0:
            schedules[command_id] = {"schedule": "0 * * * *", "start_margin": 600}
        for seq in range(1, runs + 1):
            started = start + dt.timedelta(hours=seq)
            failed = n % 10 == 0 and seq == runs
            batch.append(
                CommandRun(
                    command_id=command_id,
                    seq=seq,
                    run_id=uuid.uuid4().hex,
                    name=command_id,
                    status="FAILED" if failed else "FINISHED",
                    started=started,
                    latest=started + dt.timedelta(seconds=30),
                    finished=started + dt.timedelta(seconds=30),
                    duration=30.0,
                    message="boom" if failed else "Command finished",
                    host="bench",
                    pid=1,
                )
            )
        if len(batch) >= 20000:
            CommandRun.objects.bulk_create(batch)
            batch = []
    CommandRun.objects.bulk_create(batch)


def measure(ids: int, runs: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitorkit.health.watch import Watcher
    from monitorkit.stores.database.runs import DatabaseReporter

    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    now = start + dt.timedelta(hours=runs, minutes=5)
    small_ids = max(1, ids // 10)
    schedules: dict[str, Any] = {}
    fill(0, small_ids, runs, start, schedules)
    settings.MONITORKIT_SCHEDULES = schedules
    reporter = DatabaseReporter()
    watcher = Watcher(reporter, reporter.health_store(), [], clock=lambda: now)
    watcher.cycle()
    with CaptureQueriesContext(connection) as small:
        watcher.cycle()

    fill(small_ids, ids, runs, start, schedules)
    settings.MONITORKIT_SCHEDULES = schedules
    began = time.perf_counter()
    first = watcher.cycle()
    first_s = time.perf_counter() - began
    steady = []
    for _ in range(5):
        began = time.perf_counter()
        watcher.cycle()
        steady.append(time.perf_counter() - began)
    with CaptureQueriesContext(connection) as large:
        watcher.cycle()
    return {
        "ids": ids,
        "runs_per_id": runs,
        "first_cycle_s": first_s,
        "first_cycle_transitions": len(first.transitions),
        "steady_cycle_s": statistics.median(steady),
        "queries_small": len(small),
        "queries_large": len(large),
        "small_ids": small_ids,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watch_cycle")
    parser.add_argument("--ids", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="monitorkit-watch-bench-") as tmp:
        configure(Path(tmp) / "watch.sqlite3")
        print(json.dumps(measure(args.ids, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
