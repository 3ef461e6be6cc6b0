"""Row 21.1 (issue 21, item 1): what the concurrency policy's lease costs a command's start.

In this process, against the local Realtime Database server (``run.configure_django``): a function
monitored with ``concurrency="allow"`` (the default), then with ``"forbid"`` while no run holds
the lease, then while another run holds it (the call is refused). What the command's thread
sends before the function runs is counted on the server: every request to ``/leases/`` (the
run's own writes go from the sender's thread, to the root, as without a limit). The database
store's lease is one transaction (SQLite) or one text sent at once (PostgreSQL), counted by
``tests/stores/test_leases.py``. ``--only 21.1`` reruns it alone.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

#: ``benchmarks.run.Bench``, as this module uses it (``record``).
Bench = Any

ROW = "21.1"
TARGET = 1


def lease_trips(bench: Bench, server: Any) -> None:
    """Measure the row with ``server``, which Django in this process already points at."""
    import monitorkit
    from monitorkit.record import RunRecord, utcnow
    from monitorkit.stores.firebase.runs import FirebaseReporter

    def lease_requests(call: Any) -> tuple[int, float]:
        server.clear_requests()
        started = time.perf_counter()
        call()
        seconds = time.perf_counter() - started
        found = [r for r in server.requests if "/leases/" in r.path]
        return len(found), seconds

    ran: list[str] = []
    allow = monitorkit.monitor("lease_bench_allow")(lambda: ran.append("allow"))
    forbid = monitorkit.monitor("lease_bench", concurrency="forbid")(lambda: ran.append("forbid"))
    allowed = lease_requests(allow)
    free = lease_requests(forbid)
    now = utcnow()
    holder = RunRecord(
        "lease_bench", "lease_bench", "", os.urandom(16).hex(), socket.gethostname(),
        os.getpid(), now, latest=now,
    )  # fmt: skip
    answer = FirebaseReporter().take_lease(holder, 1)
    assert answer is not None and answer.granted, answer
    refused = lease_requests(forbid)
    if ran != ["allow", "forbid"]:
        raise SystemExit(f"row {ROW}: the calls ran {ran}, not allow and forbid once each")
    counts = (allowed[0], free[0], refused[0])
    bench.record(
        ROW,
        "the concurrency lease: requests a start sends before the function runs, "
        "allow / forbid and free / forbid and held (refused), local Firebase server",
        " / ".join(str(n) for n in counts),
        f"allow 0; forbid <= {TARGET} round trip",
        counts[0] == 0 and max(counts[1:]) <= TARGET,
        requests=list(counts),
        seconds=[allowed[1], free[1], refused[1]],
    )
