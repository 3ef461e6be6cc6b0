"""Row 17 (issue 18): many short runs at once on a busy machine, and what the store says of them.

A writer stores what its run said and never judges another run, so a run is ``SYSTEM_KILL``
only when it recorded the signal itself: under load, a writer's guess that a slow neighbour was
dead once stored a run that finished normally as killed. This row runs :data:`RUNS` monitored
no-ops of the benchmark project, :data:`AT_ONCE` at a time, while two busy loops keep both cores
of a 2-core machine busy, on the embedded store (SQLite, every run kept), then counts the stored
statuses: every run ``FINISHED``, none ``SYSTEM_KILL``. A SIGKILLed run shown ``STALE`` and
alerted is the tests' part (``tests/test_watch_processes.py``). ``--only 17`` reruns it alone.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

#: ``benchmarks.run.Bench``, as this module uses it (``env``, ``workdir``, ``record``).
Bench = Any

ROW = "17"
ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "benchmarks" / "project"
RUNS = 500
AT_ONCE = 6
BUSY_LOOPS = 2
#: Every run is kept, so every run is counted.
SETTINGS = {"MONITORKIT_RETENTION": RUNS + 10}


def many_runs(bench: Bench, rounds: int = 0) -> None:
    """Measure the row (``rounds`` is not used: one pass of :data:`RUNS` runs)."""
    db = bench.workdir / "many-runs.sqlite3"  # its own: the other rows' runs are not counted
    env = {**bench.env(plain=False, settings=SETTINGS), "BENCH_DB": str(db)}

    def start(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(PROJECT / "manage.py"), *args],
            env=env,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    if start("migrate", "-v0").wait() != 0:
        raise SystemExit(f"row {ROW}: migrate failed")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BUSY_LOOPS)]
    started = time.perf_counter()
    exits: Counter[int] = Counter()
    try:
        running: list[Any] = []
        launched = 0
        while launched < RUNS or running:
            while launched < RUNS and len(running) < AT_ONCE:
                running.append(start("noop"))
                launched += 1
            for process in [p for p in running if p.poll() is not None]:
                running.remove(process)
                exits[process.returncode] += 1
            time.sleep(0.01)  # polling the children, not waiting for a state of theirs
    finally:
        for loop in busy:
            loop.kill()
            loop.wait()
    wall = time.perf_counter() - started
    with sqlite3.connect(db) as con:
        statuses = Counter(
            status
            for (status,) in con.execute(
                "SELECT status FROM monitorkit_commandrun WHERE command_id = 'noop'"
            )
        )
    killed = statuses.get("SYSTEM_KILL", 0)
    finished = statuses.get("FINISHED", 0)
    bench.record(
        ROW,
        f"{RUNS} monitored no-ops, {AT_ONCE} at a time, {BUSY_LOOPS} busy loops: stored as "
        "SYSTEM_KILL",
        f"{killed} (FINISHED {finished} of {RUNS}; exit 0: {exits.get(0, 0)}; {wall:.0f} s)",
        "0, every run FINISHED",
        killed == 0 and finished == RUNS and exits.get(0, 0) == RUNS,
        runs=RUNS,
        system_kill=killed,
        finished=finished,
        statuses=dict(statuses),
        wall_s=wall,
    )
