"""When an unfinished run is stale: the one rule every reader, and every lease, goes by.

Apart from the judge (``health/judge.py`` re-exports it) so that a store's lease
(``monitorkit/concurrency.py``) can ask it without importing the judge, its schedules and
``cronsim`` on a command's path: a holder killed without a trace lets go exactly when every
page calls its run stale.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .status import UNFINISHED

if TYPE_CHECKING:
    from .record import RunRecord

_UNFINISHED = tuple(status.value for status in UNFINISHED)


def _utc(value: dt.datetime) -> dt.datetime:
    tz = dt.timezone.utc
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def is_stale(run: RunRecord, now: dt.datetime, stale_after: float) -> bool:
    """Return whether ``run`` is unfinished and silent for longer than ``stale_after`` seconds.

    Its start counts as its first sign of life. Only readers judge this: a writer stores what
    a run said and never rewrites another run, so a run is ``SYSTEM_KILL`` only when it
    recorded the signal itself, and a run that stopped beating is shown stale by every reader.
    """
    if str(getattr(run.status, "value", run.status)) not in _UNFINISHED:
        return False
    return (_utc(now) - _utc(run.latest or run.started)).total_seconds() > stale_after


def alive_since(now: dt.datetime, stale_after: float) -> dt.datetime:
    """Return the oldest heartbeat (or start) of a run that :func:`is_stale` calls alive at
    ``now``: the same rule, for a store that asks its database for the live runs."""
    return _utc(now) - dt.timedelta(seconds=stale_after)
