"""Every command id at a glance: its last run and its health now, from any store.

The one read that ``monitor_status`` and the status page share: the newest run of each command
id from the store's read side, the declared expectations, and the health judged here and now
(``health.assess``), so it is right even where no watcher runs.
"""

from __future__ import annotations

from .conf import monitor_settings
from .health import Assessment, assess
from .record import RunRecord, utcnow
from .reporters.base import Reporter
from .schedules import discover


def command_health(reporter: Reporter) -> list[tuple[str, RunRecord | None, Assessment]]:
    """Return every command id (run, or scheduled) with its last run and its health now.

    The health is judged here and now from the last run and the declared expectation, so it
    is right even where no watcher runs; ``first_seen`` comes from the watcher when it does.
    """
    now = utcnow()
    stale_after = monitor_settings.stale_after  # read once, not per command id
    latest = {run.id: run for run in reporter.latest_runs()}
    # A declared command that never ran is shown when a run is expected of it.
    expectations = {cid: e for cid, e in discover().items() if e.schedule or cid in latest}
    store = reporter.health_store()
    states = store.states() if store is not None else {}
    rows = []
    for command_id in sorted(set(latest) | set(expectations)):
        run = latest.get(command_id)
        state = states.get(command_id)
        found = assess(
            expectations.get(command_id),
            [run] if run is not None else [],
            now,
            stale_after,
            state.first_seen if state is not None else None,
        )
        rows.append((command_id, run, found))
    return rows
