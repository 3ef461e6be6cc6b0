"""Row 15 (issue 16): what installing monitorkit costs a command, against a project without it.

The other rows compare a monitored command with its plain twin in the same project, where the
twin pays whatever monitorkit costs every command of a project (its app, its system checks) as
well: that cost is invisible there. This row runs a project three ways, in turn (A, B, C, A, B,
C ...), and takes medians:

- ``without``: the same settings minus ``monitorkit`` in ``INSTALLED_APPS``; the no-op is a
  plain ``BaseCommand`` and nothing imports monitorkit;
- ``installed``: monitorkit installed, the no-op a plain ``BaseCommand`` (not monitored); in
  the ``startproject`` project its status page is mounted as the README says
  (``benchsite/urls.py``): Django's URL check imports the URLconf before every command;
- ``monitored``: the no-op a ``MonitoredCommand`` on the embedded store (database reporter,
  SQLite).

Two projects (``benchsite/settings.py``, ``BENCH_PROJECT``):

- ``startproject``, the target: the apps, middleware, templates and URLconf ``django-admin
  startproject`` writes, the least a user's project has;
- ``minimal`` (contenttypes and auth only), context. It ends a no-op about 300 allocations
  short of CPython's first full garbage collection (generation counts ``(386, 10, 10)`` at
  exit), so anything that allocates a few thousand objects more, monitorkit's command wing
  among them, pays that collection (15-25 ms) inside the run; ``without`` never does. In the
  ``startproject`` project each of the three variants makes exactly one full collection, as
  before any command of a real project, and the next is a quarter of the heap's growth away.

The ratio is the median of each round's own ratio (a variant's run over the ``without`` run
of the same round), as a pairwise benchmark quotes it: the three runs of a round are seconds
apart, so a drift of the machine's speed over the minutes of the row (a shared virtual
machine's neighbours come and go) falls on all three and out of the ratio. The order of the
three is turned by one each round, so no variant always runs first. The ratio of the medians
is recorded beside it, as context.

Every module's bytecode is cached (``PYTHONPYCACHEPREFIX`` in the run's own directory, after a
warm-up run of each variant), as in a deployment. Run by ``benchmarks/run.py``; ``--only 15``
reruns it alone. Nothing is imported from ``run.py``: it imports this module.

Beside the wall times, context rows count the instructions of one run of each variant of the
``startproject`` project under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``, so a run's
dictionaries are laid out alike each time): the same count however busy or slow the machine
is, where a ratio of a few per cent in wall time drifts by about one per cent from run to run
on a shared machine. It leaves out what is not an instruction (the files read, the pages
touched), which the wall times keep. Skipped, and said so, where valgrind is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: ``benchmarks.run.Bench``, as this module uses it.
Bench = Any

ROW = "15"
ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "benchmarks" / "project"
COMMAND = "noop"
#: Keyword arguments of :func:`run_cached` for each variant, in the order they run.
VARIANTS: dict[str, dict[str, Any]] = {
    "without": {"plain": True, "monitorkit": False},
    "installed": {"plain": True},
    "monitored": {"plain": False},
}
#: The projects (``BENCH_PROJECT``) and whether the row's targets apply to each.
PROJECTS = (("startproject", True), ("minimal", False))
TARGETS = {"installed": 1.03, "monitored": 1.08}
#: Rounds of the three variants for each round of the other rows: a 3% ratio needs more than 7.
ROUNDS_FACTOR = 6


def cached_env(bench: Bench, plain: bool, project: str, monitorkit: bool) -> dict[str, str]:
    """The environment of one run of the no-op, bytecode cached."""
    env: dict[str, str] = bench.env(plain=plain)
    env["BENCH_PROJECT"] = project
    env["BENCH_MONITORKIT"] = "1" if monitorkit else "0"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(bench.workdir / "pycache")
    return env


def run_cached(
    bench: Bench, plain: bool, project: str = "minimal", monitorkit: bool = True
) -> tuple[float, int]:
    """Run the no-op once with bytecode cached; return its wall seconds and peak RSS (kB)."""
    env = cached_env(bench, plain, project, monitorkit)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(PROJECT / "manage.py"), COMMAND],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr is not None:
        process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"row {ROW}: {COMMAND} exited {code}:\n{err[-2000:]}")
    return wall, usage.ru_maxrss


def install_cost(bench: Bench, rounds: int) -> None:
    """Measure the row in each project and record its two ratios there, then count."""
    for project, targeted in PROJECTS:
        measure(bench, rounds, project, targeted)
    count_instructions(bench)


#: What callgrind says at its end: ``==123== I   refs:      1,029,186,421``.
INSTRUCTIONS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(bench: Bench, plain: bool, monitorkit: bool = True) -> int:
    """Return the instructions one run of the no-op executes (``startproject``, cached)."""
    env = cached_env(bench, plain, "startproject", monitorkit)
    env["PYTHONHASHSEED"] = "0"
    process = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        + [sys.executable, str(PROJECT / "manage.py"), COMMAND],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    found = INSTRUCTIONS.search(process.stderr)
    if process.returncode or found is None:
        raise SystemExit(f"row {ROW}: callgrind of {COMMAND} failed:\n{process.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def count_instructions(bench: Bench) -> None:
    """Record the installed and monitored no-ops' instructions over the project without."""
    measure_text = (
        "no-op {what} / the same startproject project without monitorkit, bytecode cached: "
        "instructions executed (callgrind, one run each)"
    )
    if shutil.which("valgrind") is None:
        bench.record(
            ROW,
            measure_text.format(what="installed or monitored"),
            "not counted: valgrind is not installed",
            "context",
            None,
        )
        return
    for variant in VARIANTS.values():  # the warm-up: every module's .pyc is written
        run_cached(bench, project="startproject", **variant)
    counts = {name: instructions(bench, **variant) for name, variant in VARIANTS.items()}
    base = counts["without"]
    for name, what in (("installed", "installed, not monitored"), ("monitored", "monitored")):
        bench.record(
            ROW,
            measure_text.format(what=what),
            f"{counts[name] / base:.3f} ({counts[name] / 1e6:,.1f} M vs {base / 1e6:,.1f} M)",
            "context: the same on a busy or slow machine",
            None,
            variant=name,
            instructions=counts[name],
            without_instructions=base,
        )


def measure(bench: Bench, rounds: int, project: str, targeted: bool) -> None:
    """Run the three variants of one project in turn; record installed and monitored."""
    for variant in VARIANTS.values():  # the warm-up: every module's .pyc is written
        run_cached(bench, project=project, **variant)
    walls: dict[str, list[float]] = {name: [] for name in VARIANTS}
    peaks: dict[str, list[int]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for turn in range(rounds * ROUNDS_FACTOR):
        for name in names[turn % 3 :] + names[: turn % 3]:
            wall, peak = run_cached(bench, project=project, **VARIANTS[name])
            walls[name].append(wall)
            peaks[name].append(peak)
    wall = {name: statistics.median(values) for name, values in walls.items()}
    mib = {name: statistics.median(values) / 1024 for name, values in peaks.items()}
    base = wall["without"]
    for name, what in (
        ("installed", "installed, not monitored (a plain BaseCommand)"),
        ("monitored", "monitored (MonitoredCommand, database store on SQLite)"),
    ):
        ratio = paired_ratio(walls[name], walls["without"])
        target = TARGETS[name]
        bench.record(
            ROW,
            f"no-op {what} / the same {project} project without monitorkit, bytecode cached "
            "(median of each round's ratio)",
            f"{ratio:.3f} ({wall[name] * 1000:.0f} vs {base * 1000:.0f} ms, ratio of the "
            f"medians {wall[name] / base:.3f}; peak {mib[name]:.1f} vs {mib['without']:.1f} MiB)",
            f"ratio <= {target:.2f}" if targeted else "context",
            ratio <= target if targeted else None,
            variant=name,
            project=project,
            runs=len(walls[name]),
            wall_s=wall[name],
            without_s=base,
            ratio_of_medians=wall[name] / base,
            peak_mib=mib[name],
            without_peak_mib=mib["without"],
        )


def paired_ratio(variant: list[float], without: list[float]) -> float:
    """Return the median of the rounds' ratios: ``variant[i] / without[i]``, run in one round."""
    return statistics.median(v / w for v, w in zip(variant, without, strict=True))
