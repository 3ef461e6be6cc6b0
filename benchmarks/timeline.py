"""Row 14: a monitored no-op on Firebase, from process start to exit, beside its plain twin.

Row 1 says how much longer a monitored no-op process takes than its plain twin; this row says
where, phase by phase, so the difference can be explained line by line. Each process is
``python benchmarks/timeline_probe.py STAMPS manage.py timeline_noop``: the probe stamps the
phase boundaries inside the child (see its docstring) without changing monitorkit or Django,
and this module adds the two moments only the parent sees, the spawn and the reaping (both
read ``time.monotonic()``, the same system-wide clock). Plain and monitored alternate, and
each phase is the median over the rounds.

Two series: one in the runner's environment, as row 1 is measured (where
``PYTHONDONTWRITEBYTECODE`` is set, modules without a ``.pyc`` are compiled in every process,
and the monitored process compiles the Firebase reporter's modules the twin never imports),
and one with every module's bytecode cached in a directory of the run's own, as deployed.

The monitored runs use the Firebase reporter only (``MONITORKIT_DATABASE = False``) against a
local server this row starts, whose request log counts the HTTP requests of each run. One
more run of each variant under ``python -X importtime`` says what importing ``requests`` (and
the packages it brings) costs, and the probe's audit hook says on which thread and in which
phase that import happens.

Run by ``benchmarks/run.py`` with the others, or alone (``python -m benchmarks.run --only
14``), which replaces this row's results and rewrites the page. Nothing is imported from
``run.py``: it imports this module.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: ``benchmarks.run.Bench``, as this module uses it (``env``, ``workdir``, ``record``).
Bench = Any

ROW = "14"
ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "benchmarks" / "project"
PROBE = ROOT / "benchmarks" / "timeline_probe.py"
COMMAND = "timeline_noop"
#: Fewer rounds than this leave a few-millisecond phase at the mercy of one slow start.
MIN_ROUNDS = 15
#: The packages ``import requests`` brings in, whose own import time is summed.
REQUESTS_PACKAGES = ("requests", "urllib3", "charset_normalizer", "idna", "certifi", "chardet")

#: (phase, from stamp, to stamp, what the time is). ``spawn`` and ``reaped`` are the parent's.
PHASES: tuple[tuple[str, str, str, str], ...] = (
    (
        "interpreter start",
        "spawn",
        "probe",
        "fork and exec, the interpreter's own start-up, `site` and the virtualenv's `.pth` "
        "files, up to the probe's first line. Nothing of Django or monitorkit runs yet.",
    ),
    (
        "imports: `django.setup()`",
        "probe",
        "django.setup",
        "importing Django's management package, reading the settings and populating the apps "
        "(monitorkit's app config and models among them), in both processes alike.",
    ),
    (
        "imports: the command",
        "django.setup",
        "command loaded",
        "`fetch_command` imports the command's module. Both processes import monitorkit's "
        "command machinery here (`wrapt`, the mixins, the run, the sender): the bench "
        "project's `twin.py` imports `MonitoredCommand` to choose the base class.",
    ),
    (
        "command line",
        "command loaded",
        "execute entry",
        "`run_from_argv`: building the argument parser and parsing `sys.argv`.",
    ),
    (
        "start: system checks",
        "execute entry",
        "checks done",
        "`BaseCommand.execute` runs the system checks, monitorkit's included, in both "
        "processes (since issue 16 its schedule and alert check, which imports every "
        "command and `requests`, runs only in `manage.py check`).",
    ),
    (
        "start: the run",
        "checks done",
        "handle entry",
        "monitored: monitorkit's wrappers begin the run (settings read and judged, the "
        "reporter built, the record made, the sender thread started and the start queued to "
        "it, the heartbeat thread and signal handlers installed, stdout and stderr teed for "
        "the output tail). The twin goes straight to `handle`.",
    ),
    (
        "handle",
        "handle entry",
        "handle exit",
        "the command's own body, empty: two stamps apart.",
    ),
    (
        "flush: until the first connection",
        "handle exit",
        "first connection",
        "monitored: the outcome is recorded and queued, and the command starts waiting (at "
        "most `MONITORKIT_FLUSH_TIMEOUT`) for the sender thread, which takes the queued start "
        "and finish together and, on its first write, imports the Firebase client "
        "(`monitorkit.stores.firebase.http`, `.auth`, `monitorkit.transport`) and builds its "
        "session, up "
        "to its first `socket.connect`. The twin only returns.",
    ),
    (
        "flush: the requests",
        "first connection",
        "execute exit",
        "monitored: the run's HTTP requests to the local server (counted below), each a "
        "round trip, until the sender says all is delivered and `execute` returns.",
    ),
    (
        "exit: `manage.py` returns",
        "execute exit",
        "manage.py returned",
        "the end of `run_from_argv` (database connections closed) and of `manage.py`.",
    ),
    (
        "exit: threads and `atexit`",
        "manage.py returned",
        "atexit",
        "the interpreter joins non-daemon threads (monitorkit's are daemons) and runs the "
        "`atexit` handlers (`logging.shutdown` flushing every handler, ...).",
    ),
    (
        "exit: interpreter shutdown",
        "atexit",
        "reaped",
        "finalization (modules torn down, objects freed; daemon threads are abandoned), the "
        "process's exit and the parent's `wait()` returning.",
    ),
)


@dataclass
class Timeline:
    """One process: its stamps (seconds, one clock), the HTTP requests it made."""

    stamps: dict[str, float]  # the main thread's, each name's first, and the parent's two
    marks: list[tuple[str, str, float]]  # every stamp of the child: name, thread, moment
    requests: list[str]
    log: list[Any]  # the server's ``RecordedRequest``s, stamped on the same clock

    def phase(self, start: str, end: str) -> float:
        return self.stamps[end] - self.stamps[start]


@dataclass
class Series:
    """The rounds of one condition, plain and monitored interleaved."""

    plain: list[Timeline]
    monitored: list[Timeline]

    def medians(self, start: str, end: str) -> tuple[float, float]:
        return (
            statistics.median(t.phase(start, end) for t in self.plain),
            statistics.median(t.phase(start, end) for t in self.monitored),
        )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def settings(workdir: Path) -> dict[str, Any]:
    """The settings of both variants: Firebase only, and a spool of this run's own."""
    return {"MONITORKIT_DATABASE": False, "MONITORKIT_SPOOL_DIR": str(workdir / "spool")}


def run_once(
    bench: Bench,
    server: Any,
    plain: bool,
    url: str,
    cached: bool = False,
    extra: tuple[str, ...] = (),
    command: tuple[str, ...] = (COMMAND,),
    more_settings: dict[str, Any] | None = None,
    project: str = "minimal",
) -> tuple[Timeline, str]:
    """Run the probed no-op (or another probed ``command``) once; return its timeline and stderr.

    ``cached``: let the child read and write bytecode (``.pyc``) in a cache of this run's own,
    whatever the environment says; otherwise the child gets the environment as it is.
    ``project``: the benchmark project's ``BENCH_PROJECT`` (``benchsite/settings.py``).
    """
    stamps_file = bench.workdir / "timeline-stamps.tsv"
    stderr_file = bench.workdir / "timeline-stderr.txt"
    stamps_file.unlink(missing_ok=True)
    chosen = {**settings(bench.workdir), **(more_settings or {})}
    env = bench.env(plain=plain, firebase_url=url, settings=chosen, bytecode_cache=cached)
    env["BENCH_PROJECT"] = project
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bench.workdir / "pycache")
    server.clear_requests()
    with open(stderr_file, "wb") as stderr:
        spawn = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, *extra, str(PROBE), str(stamps_file), "manage.py", *command],
            env=env,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        _, status = os.waitpid(process.pid, 0)
        reaped = time.monotonic()
    process.returncode = os.waitstatus_to_exitcode(status)
    err = stderr_file.read_text(errors="replace")
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{err[-2000:]}")
    marks = []
    for line in stamps_file.read_text().splitlines():
        name, thread, moment = line.split("\t")
        marks.append((name, thread, float(moment)))
    stamps = {"spawn": spawn, "reaped": reaped}
    for name, thread, moment in reversed(marks):
        if thread == "MainThread":
            stamps[name] = moment
    # The sender's first connection, inside the flush (none, for the twin: the flush's start).
    connects = [m for n, _, m in marks if n == "socket.connect" and m >= stamps["handle exit"]]
    first = min(connects, default=stamps["handle exit"])
    stamps["first connection"] = min(first, stamps["execute exit"])
    log = server.requests
    requests = [f"{r.method} {r.path}" for r in log]
    return Timeline(stamps, marks, requests, log), err


def series(bench: Bench, server: Any, url: str, rounds: int, cached: bool) -> Series:
    """Warm up once per variant, then run ``rounds`` pairs, the first of each pair alternating.

    Alternating cancels what running first or second in a pair does to a process.
    """
    for plain in (True, False):
        run_once(bench, server, plain=plain, url=url, cached=cached)
    done = Series([], [])
    errors: set[str] = set()
    for round_number in range(rounds):
        for plain in (True, False) if round_number % 2 else (False, True):
            line, err = run_once(bench, server, plain=plain, url=url, cached=cached)
            (done.plain if plain else done.monitored).append(line)
            if not plain and not line.requests:
                raise SystemExit(f"row {ROW}: a monitored run sent no request:\n{err[-2000:]}")
            if err.strip() and not plain:
                errors.add(err.strip()[-500:])
    if errors:
        print(f"row {ROW}: the monitored runs wrote to stderr:", *errors, sep="\n", flush=True)
    return done


def import_times(stderr: str) -> dict[str, tuple[float, float]]:
    """Read ``-X importtime``'s report: module -> (own, cumulative) seconds."""
    found = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, cumulative, name = (part.strip() for part in line[12:].split("|"))
        if own.isdigit():  # not the header
            found[name] = (int(own) / 1e6, int(cumulative) / 1e6)
    return found


def import_summary(
    plain: dict[str, tuple[float, float]], monitored: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    """What ``requests`` costs each variant, and which modules only the monitored imports."""

    def requests_cost(found: dict[str, tuple[float, float]]) -> dict[str, float]:
        return {
            "cumulative_s": found.get("requests", (0.0, 0.0))[1],
            "packages_own_s": sum(
                own for name, (own, _) in found.items() if name.split(".")[0] in REQUESTS_PACKAGES
            ),
        }

    only = {name: own for name, (own, _) in monitored.items() if name not in plain}
    return {
        "requests_plain": requests_cost(plain),
        "requests_monitored": requests_cost(monitored),
        "monitorkit_command_s": plain.get("monitorkit.command", (0.0, 0.0))[1],
        "monitored_only_s": sum(only.values()),
        "monitored_only": sorted(only.items(), key=lambda item: -item[1])[:8],
    }


def where(line: Timeline, moment: float) -> str:
    """Name the phase of ``line`` that holds ``moment``."""
    for name, start, end, _ in PHASES:
        if line.stamps[start] <= moment <= line.stamps[end]:
            return name
    return "outside the phases"


def timeline(bench: Bench, rounds: int) -> None:
    """Measure the row and record it (one summary line; the section holds the table)."""
    from monitorkit.testing import RealtimeDatabaseServer

    rounds = max(rounds, MIN_ROUNDS)
    with RealtimeDatabaseServer() as server:
        url = server.url + "/?ns=timeline"
        inherited = series(bench, server, url, rounds, cached=False)
        cached = series(bench, server, url, rounds, cached=True)
        traced = {
            plain: import_times(
                run_once(bench, server, plain=plain, url=url, extra=("-X", "importtime"))[1]
            )
            for plain in (True, False)
        }
    phases: list[dict[str, Any]] = []
    for name, start, end, _ in PHASES:
        a, b = inherited.medians(start, end)
        ca, cb = cached.medians(start, end)
        phases.append(
            {
                "phase": name,
                "plain_s": a,
                "monitored_s": b,
                "difference_s": b - a,
                "cached_plain_s": ca,
                "cached_monitored_s": cb,
                "cached_difference_s": cb - ca,
            }
        )
    total_a, total_b = inherited.medians("spawn", "reaped")
    quartiles = statistics.quantiles([t.phase("spawn", "reaped") for t in inherited.plain], n=4)
    cached_a, cached_b = cached.medians("spawn", "reaped")
    monitored = inherited.monitored + cached.monitored
    requests = [len(t.requests) for t in monitored]
    connects = [sum(1 for n, _, _ in t.marks if n == "socket.connect") for t in monitored]
    requests_import = sorted(
        {
            (variant, thread, where(t, moment))
            for variant, t in (("twin", inherited.plain[0]), ("monitored", monitored[0]))
            for name, thread, moment in t.marks
            if name == "import requests"
        }
    )
    biggest = sorted(phases, key=lambda p: -p["difference_s"])[:3]
    bench.record(
        ROW,
        "no-op on Firebase, process timeline, monitored - plain twin by phase "
        "(table in the section below)",
        f"+{ms(total_b - total_a)} of {ms(total_a)} ("
        + ", ".join(f"{p['phase']} {p['difference_s'] * 1000:+.1f}" for p in biggest)
        + f" ms); with bytecode cached +{ms(cached_b - cached_a)}; "
        f"{statistics.median(requests):g} HTTP requests per run",
        "context: explains row 1",
        None,
        rounds=rounds,
        date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        no_bytecode=bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
        phases=phases,
        plain_s=total_a,
        monitored_s=total_b,
        plain_spread_s=quartiles[2] - quartiles[0],
        cached_plain_s=cached_a,
        cached_monitored_s=cached_b,
        http_requests=statistics.median(requests),
        http_requests_seen=sorted(set(requests)),
        connections=statistics.median(connects),
        request_sequence=monitored[len(monitored) // 2].requests,
        plain_http_requests=max(len(t.requests) for t in inherited.plain + cached.plain),
        requests_import=requests_import,
        imports=import_summary(traced[True], traced[False]),
    )


def section(results: list[dict[str, Any]]) -> list[str]:
    """The page's section for row 14 (no lines when the results hold no row 14)."""
    row = next((r for r in results if r.get("number") == ROW and "phases" in r), None)
    if row is None:
        return []
    environment = (
        "with `PYTHONDONTWRITEBYTECODE` set, as in the run of the rows above: modules without "
        "a `.pyc` (monitorkit's, in a fresh checkout) are compiled from source in every process"
        if row["no_bytecode"]
        else "with the runner's environment, as the rows above"
    )
    lines = [
        "",
        f"## Row {ROW}: where a monitored no-op's time goes",
        "",
        f"One `manage.py {COMMAND}` process (an empty `handle`) from spawn to reaping, "
        "monitored with the Firebase reporter only",
        "(`MONITORKIT_DATABASE = False`) against the local server, beside its plain twin; "
        f"median of {row['rounds']} interleaved rounds",
        f"per phase ({row['date']}). The first three columns are {environment}; the last",
        "is the difference again with every module's bytecode cached (`PYTHONPYCACHEPREFIX`, "
        "after a warm-up run), as in a",
        "deployment. The phases are stamped inside the child by `benchmarks/timeline_probe.py`, "
        "which wraps the command",
        "instance's `execute` and `check` from the outside, so monitorkit is measured "
        "unchanged. Rerun this row alone with",
        f"`.venv/bin/python -m benchmarks.run --only {ROW}`.",
        "",
        "| phase | plain twin | monitored | difference | difference, bytecode cached |",
        "|---|---|---|---|---|",
    ]
    for p in row["phases"]:
        lines.append(
            f"| {p['phase']} | {ms(p['plain_s'])} | {ms(p['monitored_s'])} | "
            f"{p['difference_s'] * 1000:+.1f} ms | {p['cached_difference_s'] * 1000:+.1f} ms |"
        )
    a, b = row["plain_s"], row["monitored_s"]
    ca, cb = row["cached_plain_s"], row["cached_monitored_s"]
    lines += [
        f"| **whole process** | {ms(a)} | {ms(b)} | {(b - a) * 1000:+.1f} ms ({b / a:.3f}) | "
        f"{(cb - ca) * 1000:+.1f} ms ({cb / ca:.3f}; {ms(cb)} vs {ms(ca)}) |",
        "",
        "The phases' medians need not add up to the whole process's median. The run-to-run "
        f"spread (interquartile range) of the twin's whole process is {ms(row['plain_spread_s'])}; "
        "a difference of a millisecond or two",
        "in a phase both variants run alike (everything up to the system checks, and the exit) "
        "is noise.",
        "",
        "What each phase holds:",
        "",
    ]
    lines += [f"- {name}: {what}" for name, _, _, what in PHASES]
    imports = row["imports"]
    places = "; ".join(
        f"{variant}: on {thread}, in '{phase}'" for variant, thread, phase in row["requests_import"]
    )
    only = ", ".join(f"`{name}` {ms(own)}" for name, own in imports["monitored_only"])
    lines += [
        "",
        "Counted, not timed (one more run of each variant under `python -X importtime`, "
        "environment of the first columns):",
        "",
        f"- HTTP requests of one monitored run: {row['http_requests']:g} "
        f"({', '.join(row['request_sequence'])}), over {row['connections']:g} TCP "
        f"connection(s); the plain twin made {row['plain_http_requests']}.",
        f"- `import requests` (with `urllib3`, `charset_normalizer`, `idna`, `certifi`): "
        f"{ms(imports['requests_plain']['cumulative_s'])} cumulative in the twin, "
        f"{ms(imports['requests_monitored']['cumulative_s'])} in the monitored run (those "
        f"packages' own time: {ms(imports['requests_plain']['packages_own_s'])} / "
        f"{ms(imports['requests_monitored']['packages_own_s'])}). Where it happens: "
        f"{places}. "
        + (
            "Both pay it, so it is not in the difference."
            if imports["requests_plain"]["cumulative_s"]
            else "Only the monitored run pays it: it is in the difference."
        ),
        f"- Modules only the monitored run imports: {ms(imports['monitored_only_s'])} of own "
        f"time ({only}).",
        f"- Importing `monitorkit.command` (cumulative), paid by both here: "
        f"{ms(imports['monitorkit_command_s'])}.",
        "",
    ]
    return lines


def replace_rows(
    old: list[dict[str, Any]], new: list[dict[str, Any]], row: str = ROW
) -> list[dict[str, Any]]:
    """Put ``new`` (one row's results) where that row's old results were, else before ``ctx``."""
    kept = [r for r in old if r.get("number") != row]
    at = next((i for i, r in enumerate(old) if r.get("number") == row), None)
    if at is None:
        at = next((i for i, r in enumerate(kept) if r.get("number") == "ctx"), len(kept))
    return kept[:at] + new + kept[at:]
