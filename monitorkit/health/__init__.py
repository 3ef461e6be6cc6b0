"""Health: the schedules (``schedules``), the judge (``judge``: a pure function from an
expectation, the runs and now), the judge's inputs as every reader reads them (``overview``),
and the watcher's cycle, which stores the judgement and sends the alerts (``watch``).

``monitorkit.health`` was the judge's module: its names still resolve here, with a
``DeprecationWarning``; they live in :mod:`monitorkit.health.judge`.
"""

from __future__ import annotations

import warnings
from typing import Any

_JUDGE_NAMES = frozenset(
    {"Assessment", "FAILED", "Health", "MISSED", "UNFINISHED", "WAIT_FOR_OUTCOME"}
    | {"assess", "failures_in_row", "is_stale", "judge"}
)


def __getattr__(name: str) -> Any:
    if name in _JUDGE_NAMES:
        warnings.warn(
            f"monitorkit.health.{name} is now monitorkit.health.judge.{name}; the old path "
            "goes in a future release of monitorkit",
            DeprecationWarning,
            stacklevel=2,
        )
        from . import judge

        return getattr(judge, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
