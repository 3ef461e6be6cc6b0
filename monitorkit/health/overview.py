"""The judge's inputs for every command id, read one way for every reader.

The watcher, the status page, its JSON, the metrics and ``monitor_status`` all judge a command
id with :func:`health.judge` from the same inputs, read here: its declared expectation
(``schedules.discover``), its newest :func:`judge_depth` records (``Reporter.judge_runs``: a
fixed number of queries, however many ids), the watcher's stored state (``first_seen``, and the
stored health a running retry does not yet change) and the ``MONITORKIT_STALE_AFTER`` setting.
So every reader says the same health and the same failures in a row.

What a reader shows is the watcher's judgement (:func:`shown`): while a watcher runs (a cycle
within two of its intervals), the health it stored at its last cycle, so the page, JSON,
metrics and ``monitor_status`` turn ``MISSED`` or ``LATE`` with the alert, not before it. A
reader judges itself only what no watcher has judged: every id while no watcher runs, an id
the watcher never saw, and an id with a record newer than the watcher's last cycle (a run that
started, beat or ended since: judged as the watcher's next cycle will judge it). A run that
stopped beating is shown ``STALE`` at once, wherever it is: never a running run with an ETA.

Failures in a row are counted over the newest :func:`judge_depth` records: up to
:data:`FAILURES_COUNTED`, or each command's ``alert_after`` if one is larger. Past that cap the
count stays at the cap: ``10`` reads "10 or more". Successes in a row (``recover_after``) are
counted over the same records, which are as many as the largest ``recover_after`` at least.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ..conf import monitor_settings
from ..healths import Health
from ..record import RunRecord, utcnow
from ..stores.base import Reporter
from ..stores.health_store import HealthState, HealthStore
from .judge import WAIT_FOR_OUTCOME, Assessment, judge
from .schedules import Expectation
from .watcher import WatcherHealth

#: A cycle reads the runs at its start and stores its beat (``until``) at its end: a record
#: written this long before the beat may not have been read, so a reader judges it itself (the
#: answer the watcher gives if it did read it; cycles take well under a second to a second and
#: a half at 10,000 ids, benchmark row 18).
CYCLE_READ_MARGIN = dt.timedelta(seconds=10)
#: Failures in a row are counted up to this many (more when an ``alert_after`` needs more).
FAILURES_COUNTED = 10


def judge_depth(expectations: Mapping[str, Expectation]) -> int:
    """Return how many of each id's newest records every reader judges from."""
    needed = max((e.alert_after for e in expectations.values()), default=1) + 1
    # A recovery counts its successes in a row over the same records.
    recovering = max((e.recover_after for e in expectations.values()), default=1)
    return max(FAILURES_COUNTED, needed, recovering)


def judge_inputs(
    reporter: Reporter, expectations: Mapping[str, Expectation], store: HealthStore | None = None
) -> tuple[dict[str, list[RunRecord]], dict[str, HealthState]]:
    """Return every command id's newest records and the watcher's stored states (``{}``: none).

    A store reads only the newest record of an id whose newest run ``FINISHED``
    (``Reporter.judge_runs``); an id that is recovering (:func:`recovering_ids`) needs its
    successes in a row, so its newest records are read too: one read more for each, only while
    it recovers.
    """
    depth = judge_depth(expectations)
    runs = reporter.judge_runs(depth)
    if store is None:
        store = reporter.health_store()
    states = store.states() if store is not None else {}
    for command_id in recovering_ids(expectations, runs, states):
        runs[command_id] = reporter.command_page(command_id, 0, depth)
    return runs, states


def recovering_ids(
    expectations: Mapping[str, Expectation],
    runs: Mapping[str, Sequence[RunRecord]],
    states: Mapping[str, HealthState],
) -> list[str]:
    """Return the ids whose stored ``FAILING``/``STALE`` waits for ``recover_after`` successes
    and whose newest run ``FINISHED``: the judge counts their successes in a row."""
    found = []
    for command_id, state in states.items():
        expectation = expectations.get(command_id)
        records = runs.get(command_id)
        if (
            expectation is not None
            and expectation.recover_after > 1
            and Health.of(state.health) in WAIT_FOR_OUTCOME
            and records
            and str(records[0].status) == "FINISHED"
        ):
            found.append(command_id)
    return found


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


def shown(
    found: Assessment,
    state: HealthState | None,
    records: Sequence[RunRecord],
    until: dt.datetime | None,
) -> Assessment:
    """Return what every reader shows of one id: the watcher's stored judgement where it judged.

    ``found`` is the reader's own judgement now (:func:`judge_one`), ``records`` the inputs,
    ``until`` when the watcher's last cycle ended, while one runs
    (``WatcherHealth.judged_until``). The stored health is shown while a watcher runs, the id
    has a stored state, and no record changed since the watcher's last cycle; ``found``
    otherwise, and always when it is ``STALE`` (a run that stopped beating is never
    shown running). Failures in a row come from the records alone, so they are the watcher's
    too whenever its health is.
    """
    if until is None or state is None or found.health is Health.STALE:
        return found
    if any(_changed(record) > until - CYCLE_READ_MARGIN for record in records):
        return found  # the watcher has not judged this record yet: judged as it will judge it
    stored = Health.of(state.health)
    if stored is None:
        return found
    return dataclasses.replace(found, health=stored, by_watcher=True)


def _changed(record: RunRecord) -> dt.datetime:
    """Return when a record was last written: its end, else its latest beat, else its start."""
    return record.finished or record.latest or record.started


def command_health(
    reporter: Reporter,
    expectations: Mapping[str, Expectation],
    watcher: WatcherHealth | None,
    now: dt.datetime | None = None,
) -> list[tuple[str, RunRecord | None, Assessment]]:
    """Return every command id (run, or scheduled) with its newest record and its shown health.

    Ids are those with runs and those whose declared expectation has a schedule.
    ``expectations``: what ``schedules.discover`` returned; ``watcher``: what ``watcher.read``
    returned (the readers show the watcher's word too, so each reads it once); ``now``: the
    reader's one instant, so a run it shows stale is judged stale at the same moment.
    """
    now = now or utcnow()
    stale_after = monitor_settings.stale_after  # read once, not per command id
    runs, states = judge_inputs(reporter, expectations)
    until = watcher.judged_until if watcher is not None else None
    rows = []
    for command_id in shown_ids(expectations, runs):
        records = runs.get(command_id, [])
        state = states.get(command_id)
        found = judge_one(expectations.get(command_id), records, state, now, stale_after)
        rows.append(
            (command_id, records[0] if records else None, shown(found, state, records, until))
        )
    return rows
