"""Row 16: what a 1 s command's exit costs on Firebase at a 100 ms round trip, phase by phase.

Issue 16, item 5. The command (``exit_sleeper``: sleep 1 s, its body stamped) runs monitored
by the Firebase reporter only against a local server that answers every request 100 ms after
it is sent, beside its plain twin, interleaved, the first of each pair alternating; the added
wall time is the median of the monitored processes minus the median of the plain ones. The
floor is one round trip: the outcome must be written, and the command must wait for the
answer before it exits (``MONITORKIT_FLUSH_TIMEOUT`` bounds that wait).

Four variants:

- the default heartbeat interval (30 s): no heartbeat in a 1 s run; the target, with every
  module's bytecode cached (in a directory of the run's own), as deployed, in a project as
  ``django-admin startproject`` writes it (``BENCH_PROJECT``, ``benchsite/settings.py``);
- the same in the minimal benchmark project (contenttypes and auth only), context: there the
  twin ends short of CPython's first full garbage collection and the monitored process makes it
  (15-25 ms before ``handle``; ``benchmarks/install_cost.py`` says why), where a real project
  has made it before any command runs;
- the same without a bytecode cache, as the runner's environment has it
  (``PYTHONDONTWRITEBYTECODE``): each process compiles what the twin never imports (context);
- a heartbeat every 0.95 s, so one goes out just before the command ends and is still in
  flight then: the outcome waits for its answer, then makes its own round trip (context: why
  the sender keeps one lane, ``monitorkit/recording/sender.py``).

Each process runs under ``benchmarks/timeline_probe.py`` (row 14), which stamps the end of
``handle`` and of ``execute`` inside the child; the server stamps when it received and
answered each request on the same clock (``time.monotonic()``), so the exit splits into: the
hand-off (the outcome recorded and queued until its request reaches the server, a heartbeat
in flight included), the outcome's round trip, the rest of the flush after its answer, and the
process's exit.

Run by ``benchmarks/run.py`` with the others, or alone (``python -m benchmarks.run --only
16``). Nothing is imported from ``run.py``: it imports this module.
"""

from __future__ import annotations

import statistics
from typing import Any

from .timeline import Timeline, run_once

#: ``benchmarks.run.Bench``, as this module uses it (``env``, ``workdir``, ``record``).
Bench = Any

ROW = "16"
COMMAND = ("exit_sleeper", "--seconds=1")
LATENCY = 0.1
MIN_ROUNDS = 11
#: A heartbeat 50 ms before a 1 s body ends: in flight (100 ms) when it does.
IN_FLIGHT_INTERVAL = 0.95
#: (label, settings, with a target, bytecode cached, project). The target is measured as deployed:
#: ``pip install`` writes every package's ``.pyc``, and a project's own are written on its first
#: run. Without a bytecode cache (the runner's ``PYTHONDONTWRITEBYTECODE``) each process compiles
#: the modules the monitored command imports and its twin does not: context, not the target.
VARIANTS: tuple[tuple[str, dict[str, Any], bool, bool, str], ...] = (
    (
        "default heartbeat interval (30 s), bytecode cached, startproject project",
        {},
        True,
        True,
        "startproject",
    ),
    (
        "default heartbeat interval (30 s), bytecode cached, minimal project",
        {},
        False,
        True,
        "minimal",
    ),
    ("default heartbeat interval (30 s), no bytecode cache", {}, False, False, "startproject"),
    (
        f"a heartbeat every {IN_FLIGHT_INTERVAL:g} s, in flight when the command ends",
        {"FIREBASE_MONITORING_INTERVAL_PING": IN_FLIGHT_INTERVAL},
        False,
        True,
        "startproject",
    ),
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def exit_phases(line: Timeline) -> dict[str, float]:
    """Split a monitored process's exit at the outcome's request (the run's last PATCH)."""
    outcome = [r for r in line.log if r.method == "PATCH"][-1]
    ended = line.stamps["handle exit"]
    return {
        "hand_off_s": outcome.received - ended,
        "round_trip_s": outcome.answered - outcome.received,
        "after_answer_s": line.stamps["execute exit"] - outcome.answered,
        "exit_s": line.stamps["reaped"] - line.stamps["execute exit"],
        "in_flight": any(
            r.method == "PATCH" and r is not outcome and r.received <= ended <= r.answered
            for r in line.log
        ),
        "connections": sum(1 for n, _, at in line.marks if n == "socket.connect" and at > ended),
    }


def exit_latency(bench: Bench, rounds: int) -> None:
    """Measure both variants and record a row each."""
    from monitorkit.testing import RealtimeDatabaseServer

    rounds = max(rounds, MIN_ROUNDS)
    with RealtimeDatabaseServer() as server:
        server.set_latency(LATENCY)
        url = server.url + "/?ns=exit"
        for label, extra, targeted, cached, project in VARIANTS:

            def once(
                plain: bool,
                extra: dict[str, Any] = extra,
                cached: bool = cached,
                project: str = project,
            ) -> Timeline:
                line, _ = run_once(
                    bench,
                    server,
                    plain=plain,
                    url=url,
                    cached=cached,
                    command=COMMAND,
                    more_settings=extra,
                    project=project,
                )
                return line

            once(True), once(False)  # warm-up
            plain: list[Timeline] = []
            monitored: list[Timeline] = []
            for number in range(rounds):
                for twin in (True, False) if number % 2 else (False, True):
                    (plain if twin else monitored).append(once(twin))
            record(bench, label, targeted, plain, monitored)


def record(
    bench: Bench, label: str, targeted: bool, plain: list[Timeline], monitored: list[Timeline]
) -> None:
    def whole(lines: list[Timeline]) -> float:
        return statistics.median(t.phase("spawn", "reaped") for t in lines)

    added = whole(monitored) - whole(plain)
    phases = [exit_phases(t) for t in monitored]
    middle = {
        name: statistics.median(p[name] for p in phases)
        for name in ("hand_off_s", "round_trip_s", "after_answer_s", "exit_s")
    }
    plain_flush = statistics.median(t.phase("handle exit", "execute exit") for t in plain)
    plain_exit = statistics.median(t.phase("execute exit", "reaped") for t in plain)
    in_flight = sum(p["in_flight"] for p in phases)
    connections = max(p["connections"] for p in phases)
    bound = LATENCY + 0.05
    bench.record(
        ROW,
        f"added wall time, 1 s command, {ms(LATENCY)} round trip, {label}",
        f"{ms(added)} (after handle: hand-off {ms(middle['hand_off_s'])}, the outcome's round "
        f"trip {ms(middle['round_trip_s'])}, its answer to execute's end "
        f"{ms(middle['after_answer_s'])}; heartbeat in flight at the end in "
        f"{in_flight}/{len(phases)} runs; {connections} connection(s) opened after handle)",
        f"<= 1 round trip + 50 ms = {ms(bound)}" if targeted else "context",
        added <= bound if targeted else None,
        added_s=added,
        latency_s=LATENCY,
        rounds=len(monitored),
        monitored_s=whole(monitored),
        plain_s=whole(plain),
        phases_s=middle,
        plain_flush_s=plain_flush,
        plain_exit_s=plain_exit,
        heartbeat_in_flight=in_flight,
        connections_after_handle=connections,
    )
