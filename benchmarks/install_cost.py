"""Row 15 (issue 16): what installing monitorkit costs a command, against a project without it.

The other rows compare a monitored command with its plain twin in the same project, where the
twin pays whatever monitorkit costs every command of a project (its app, its system checks) as
well: that cost is invisible there. This row runs the benchmark project three ways, in turn
(A, B, C, A, B, C ...), and takes medians:

- ``without``: the same settings minus ``monitorkit`` in ``INSTALLED_APPS``; the no-op is a
  plain ``BaseCommand`` and nothing imports monitorkit;
- ``installed``: monitorkit installed, the no-op a plain ``BaseCommand`` (not monitored);
- ``monitored``: the no-op a ``MonitoredCommand`` on the embedded store (database reporter,
  SQLite).

Every module's bytecode is cached (``PYTHONPYCACHEPREFIX`` in the run's own directory, after a
warm-up run of each variant), as in a deployment. Run by ``benchmarks/run.py``; ``--only 15``
reruns it alone. Nothing is imported from ``run.py``: it imports this module.
"""

from __future__ import annotations

import os
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
#: The benchmark project's apps minus monitorkit (``benchsite/settings.py``).
WITHOUT_MONITORKIT = {
    "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth", "benchapp"]
}
#: Keyword arguments of :func:`run_cached` for each variant, in the order they run.
VARIANTS: dict[str, dict[str, Any]] = {
    "without": {"plain": True, "settings": WITHOUT_MONITORKIT},
    "installed": {"plain": True},
    "monitored": {"plain": False},
}
#: Processes per variant for each round of the other rows: a 3% ratio needs more than 7.
ROUNDS_FACTOR = 4


def run_cached(
    bench: Bench, plain: bool, settings: dict[str, Any] | None = None
) -> tuple[float, int]:
    """Run the no-op once with bytecode cached; return its wall seconds and peak RSS (kB)."""
    env = bench.env(plain=plain, settings=settings)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(bench.workdir / "pycache")
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
    """Measure the row and record its two ratios."""
    for variant in VARIANTS.values():  # the warm-up: every module's .pyc is written
        run_cached(bench, **variant)
    walls: dict[str, list[float]] = {name: [] for name in VARIANTS}
    peaks: dict[str, list[int]] = {name: [] for name in VARIANTS}
    for _ in range(rounds * ROUNDS_FACTOR):
        for name, variant in VARIANTS.items():
            wall, peak = run_cached(bench, **variant)
            walls[name].append(wall)
            peaks[name].append(peak)
    wall = {name: statistics.median(values) for name, values in walls.items()}
    mib = {name: statistics.median(values) / 1024 for name, values in peaks.items()}
    base = wall["without"]
    for name, what, target in (
        ("installed", "installed, not monitored (a plain BaseCommand)", 1.03),
        ("monitored", "monitored (MonitoredCommand, database store on SQLite)", 1.08),
    ):
        ratio = wall[name] / base
        bench.record(
            ROW,
            f"no-op {what} / the same project without monitorkit, bytecode cached",
            f"{ratio:.3f} ({wall[name] * 1000:.0f} vs {base * 1000:.0f} ms; peak "
            f"{mib[name]:.1f} vs {mib['without']:.1f} MiB)",
            f"ratio <= {target:.2f}",
            ratio <= target,
            variant=name,
            runs=len(walls[name]),
            wall_s=wall[name],
            without_s=base,
            peak_mib=mib[name],
            without_peak_mib=mib["without"],
        )
