"""The judge's inputs for every command id, read one way for every reader.

The watcher, the status page, its JSON, the metrics and ``monitor_status`` all judge a command
id with :func:`health.judge` from the same inputs, read here: its declared expectation
(``schedules.discover``), its newest :func:`judge_depth` records (``Reporter.judge_runs``: a
fixed number of queries, however many ids), the watcher's stored state (``first_seen``, and the
stored health a running retry does not yet change) and the ``MONITORKIT_STALE_AFTER`` setting.
So every reader says the same health and the same failures in a row; a reader judges at its
own ``now``, so a page shows at once what the watcher stores at its next cycle.

Failures in a row are counted over the newest :func:`judge_depth` records: up to
:data:`FAILURES_COUNTED`, or each command's ``alert_after`` if one is larger. Past that cap the
count stays at the cap: ``10`` reads "10 or more".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ..conf import monitor_settings
from ..record import RunRecord, utcnow
from ..stores.base import Reporter
from ..stores.health_store import HealthState, HealthStore
from .judge import Assessment, judge
from .schedules import Expectation, discover

#: Failures in a row are counted up to this many (more when an ``alert_after`` needs more).
FAILURES_COUNTED = 10


def judge_depth(expectations: Mapping[str, Expectation]) -> int:
    """Return how many of each id's newest records every reader judges from."""
    needed = max((e.alert_after for e in expectations.values()), default=1) + 1
    return max(FAILURES_COUNTED, needed)


def judge_inputs(
    reporter: Reporter, expectations: Mapping[str, Expectation], store: HealthStore | None = None
) -> tuple[dict[str, list[RunRecord]], dict[str, HealthState]]:
    """Return every command id's newest records and the watcher's stored states (``{}``: none)."""
    runs = reporter.judge_runs(judge_depth(expectations))
    if store is None:
        store = reporter.health_store()
    return runs, store.states() if store is not None else {}


def shown_ids(expectations: Mapping[str, Expectation], runs: Mapping[str, Any]) -> list[str]:
    """Return the ids every surface shows, sorted: those with runs, and those a schedule expects
    a run of (a declared command that never ran is shown once a run is expected of it)."""
    return sorted({cid for cid, e in expectations.items() if e.schedule} | set(runs))


def judge_one(
    expectation: Expectation | None,
    runs: Sequence[RunRecord],
    state: HealthState | None,
    now: dt.datetime,
    stale_after: float,
) -> Assessment:
    """Return one command id's health from its inputs (``runs``: newest records first)."""
    if state is None:
        return judge(expectation, runs, now, stale_after, None, None)
    return judge(expectation, runs, now, stale_after, state.first_seen, state.health)


def command_health(
    reporter: Reporter, expectations: Mapping[str, Expectation] | None = None
) -> list[tuple[str, RunRecord | None, Assessment]]:
    """Return every command id (run, or scheduled) with its newest record and its health now.

    Ids are those with runs and those whose declared expectation has a schedule.
    ``expectations``: what ``schedules.discover`` returned, if the caller read it already.
    """
    now = utcnow()
    stale_after = monitor_settings.stale_after  # read once, not per command id
    if expectations is None:
        expectations = discover()
    runs, states = judge_inputs(reporter, expectations)
    rows = []
    for command_id in shown_ids(expectations, runs):
        records = runs.get(command_id, [])
        found = judge_one(
            expectations.get(command_id), records, states.get(command_id), now, stale_after
        )
        rows.append((command_id, records[0] if records else None, found))
    return rows
