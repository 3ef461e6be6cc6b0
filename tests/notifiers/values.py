"""Values the alert tests share: a failed run, its transition, a free port."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

from monitorkit.record import RunRecord, Status
from monitorkit.transitions import Transition

AT = dt.datetime(2026, 3, 1, 4, 5, 6, 789000, tzinfo=dt.timezone.utc)
DSN = "postgres://app:pg-s3cret@db.internal/prod"
#: Twelve lines: an alert carries the last ten, so neither the first line nor "line 01".
TRACEBACK = (
    "Traceback (most recent call last):\n"
    + "\n".join(f"  line {n:02d}" for n in range(1, 11))
    + f'\nConnectionError: could not reach {DSN} password="hunter2"'
)


def failed_record(**changes: Any) -> RunRecord:
    values: dict[str, Any] = {
        "id": "import_data__limit_5",
        "name": "import_data",
        "params": "limit=5",
        "run_id": "r1",
        "host": "worker-7",
        "pid": 4242,
        "started": AT - dt.timedelta(minutes=3),
        "finished": AT,
        "status": Status.FAILED,
        "message": "could not reach https://bob:url-s3cret@api.example.com/v1",
        "exception_type": "ConnectionError",
        "traceback": TRACEBACK,
        "exit_code": 1,
    }
    values.update(changes)
    return RunRecord(**values)


def failing_transition(**changes: Any) -> Transition:
    values: dict[str, Any] = {
        "command_id": "import_data__limit_5",
        "previous": "OK",
        "health": "FAILING",
        "at": AT,
        "record": failed_record(),
        "host": "worker-7",
        "failures_in_row": 2,
    }
    values.update(changes)
    return Transition(**values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
