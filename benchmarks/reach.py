"""Issue 11: what auto mode and the output tail cost, against the plain twin.

Run by ``benchmarks/run.py`` (rows 12 and 13), which hands in its ``Bench``; each helper
interleaves the variants it compares (A, B, A, B ...) and takes medians, like the rest of the
benchmarks. Nothing is imported from ``run.py``: it imports this module.
"""

from __future__ import annotations

import statistics
from typing import Any

#: ``benchmarks.run.Bench`` and ``benchmarks.run.Process``, as this module uses them.
Bench = Any
Process = Any
median = statistics.median


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


AUTO_ON = {"MONITORKIT_AUTO": True}


def interleaved(
    bench: Bench, args: list[str], rounds: int, variants: dict[str, dict[str, Any]]
) -> dict[str, list[Process]]:
    """Run every variant (keyword arguments of ``Bench.run``) once per round, in turn."""
    runs: dict[str, list[Process]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, env in variants.items():
            runs[name].append(bench.run(args, **env))
    bad = {name: [p.returncode for p in done if p.returncode] for name, done in runs.items()}
    if any(bad.values()):
        raise SystemExit(f"benchmark command {args} failed: {bad}")
    return runs


def spread(processes: list[Process]) -> float:
    """The interquartile range of the wall times: what 'not measurable' is measured against."""
    quartiles = statistics.quantiles([p.wall for p in processes], n=4)
    return quartiles[2] - quartiles[0]


def auto_mode(bench: Bench, rounds: int) -> None:
    """Row 12: a plain BaseCommand no-op with auto mode off, excluded, and monitoring it."""
    runs = interleaved(
        bench,
        ["noop"],
        rounds,
        {
            "off": {"plain": True},
            "excluded": {
                "plain": True,
                "settings": {**AUTO_ON, "MONITORKIT_AUTO_EXCLUDE": ["noop"]},
            },
            "auto": {"plain": True, "settings": AUTO_ON},
            "explicit": {"plain": False},
        },
    )
    off, excluded = (
        median([p.wall for p in runs["off"]]),
        median([p.wall for p in runs["excluded"]]),
    )
    noise = spread(runs["off"])
    added = excluded - off
    bench.record(
        "12",
        "auto mode on, command excluded: added wall time (no-op, database store)",
        f"{ms(added)} (run-to-run spread of the plain runs: {ms(noise)})",
        "not measurable: within the plain runs' spread",
        abs(added) <= noise,
        added_s=added,
        spread_s=noise,
    )
    auto, explicit = (
        median([p.wall for p in runs["auto"]]),
        median([p.wall for p in runs["explicit"]]),
    )
    bench.record(
        "12",
        "auto mode on, no-op monitored: whole process, auto / plain (database store)",
        f"{auto / off:.3f} ({ms(auto)} vs {ms(off)}; MonitoredCommand: {ms(explicit)})",
        "ratio <= 1.10, as row 1",
        auto / off <= 1.10,
        plain_s=off,
        auto_s=auto,
        explicit_s=explicit,
    )


def output_tail(bench: Bench, rounds: int) -> None:
    """Row 13: a command printing 50 MB, plain twin vs monitored with and without the tail."""
    for via, line_bytes in (("self.stdout", 1000), ("self.stdout", 100), ("print", 100)):
        args = ["printer", "--megabytes=50", f"--line-bytes={line_bytes}", f"--via={via}"]
        runs = interleaved(
            bench,
            args,
            rounds,
            {
                "plain": {"plain": True},
                "tail": {"plain": False},
                "no tail": {"plain": False, "settings": {"MONITORKIT_OUTPUT_TAIL_KB": 0}},
            },
        )
        plain = median([p.wall for p in runs["plain"]])
        tail = median([p.wall for p in runs["tail"]])
        untailed = median([p.wall for p in runs["no tail"]])
        bench.record(
            "13",
            f"50 MB printed in {line_bytes}-byte lines by {via}: monitored with the "
            "output tail / plain twin",
            f"{tail / plain:.3f} ({ms(tail)} vs {ms(plain)}; tail off: {ms(untailed)})",
            "ratio <= 1.05",
            tail / plain <= 1.05,
            plain_s=plain,
            tail_s=tail,
            no_tail_s=untailed,
            line_bytes=line_bytes,
            via=via,
        )
