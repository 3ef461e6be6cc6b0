"""What the status page, its JSON and the metrics show, as JSON-ready dicts, from any store.

Every read goes through the reporters' read side (``judge_runs``, ``command_history``,
``recent_outcomes``, the health store's ``states``) and ``overview``'s judge inputs, so the
database and Firebase stores look the same here, no view queries a model, and the health and
failures in a row are those the watcher stores (``overview.judge_one``). The number of queries
does not grow with the number of command ids: the overview is ``judge_runs`` + ``states`` +
``recent_outcomes``; a command page is its ``command_outcomes``, two ``command_page`` + ``states``.

The shapes are the documented read API (``docs/status-page.md``): change them only by adding.
Both pages carry ``watcher``, whether a watcher runs (``watcher_health.py``): one more read of
the health store; and whether a snooze holds a command id's alerts (``snoozed``,
``snoozed_until``; a command page also lists them, ``snoozes``): one more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..conf import MonitorSettings, monitor_settings
from ..health import silence
from ..health import watcher as watcher_health
from ..health.judge import Assessment, is_stale
from ..health.overview import command_health, judge_depth, judge_one, shown
from ..health.routing import Route, read_routes, route_for
from ..health.schedules import Expectation, discover
from ..healths import Health
from ..record import (
    UNFINISHED,
    RunRecord,
    format_timestamp,
    outcome_of,
    parse_timestamp,
    utcnow,
)
from ..snoozes import active_for, snoozed_json
from ..stores.base import Reporter
from .stats import (
    Durations,
    cost_flags,
    costs,
    eta,
    flags,
    outcome_durations,
    progress_percent,
)

#: Outcomes in the overview's strip.
STRIP_LENGTH = 20
#: Fields of a run left out of the overview (the command's own page and JSON have them).
OVERVIEW_OMITS = ("traceback", "output")
#: Fields of a run left out of the command page's list (the run's own page has them).
LIST_OMITS = ("traceback", "output")
#: Runs of a command page's history, and its JSON's ``runs``, on one page.
PER_PAGE = 25
#: The newest runs drawn in a command page's chart (its JSON's ``chart``).
CHART_RUNS = 200


def run_json(
    run: RunRecord, now: dt.datetime, stale_after: float, omit: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Return a run as stored (``RunRecord.as_dict``), its age, ``stale`` and ``running``.

    ``stale`` is the judge's word (``health.is_stale``): an unfinished run that stopped beating
    keeps its stored status, and every page shows it ``STALE``, never running. ``running``: the
    run is unfinished and not stale.
    """
    data = {k: v for k, v in run.as_dict().items() if k not in omit}
    data["ago_seconds"] = round((now - run.started).total_seconds(), 3)
    data["stale"] = is_stale(run, now, stale_after)
    data["running"] = run.status in UNFINISHED and not data["stale"]
    return data


def outcome_json(outcome: dict[str, Any], now: dt.datetime, stale_after: float) -> dict[str, Any]:
    """Return one outcome of the strip (``record.outcome``) with ``stale``, as ``run_json``.

    An unfinished run's duration runs to its latest heartbeat, so the outcome alone tells when
    it last beat. A cost read with it (``command_outcomes``) is left out: the command's
    ``costs`` say what is usual, and each run's page what it cost.
    """
    return _shown_outcome(dict(outcome), now, stale_after)


def _shown_outcome(outcome: dict[str, Any], now: dt.datetime, stale_after: float) -> dict[str, Any]:
    """Give ``outcome`` its ``stale`` and take out its cost, in place; return it."""
    stale = False
    if outcome.get("status") in UNFINISHED:  # parsed only then: the strip holds thousands
        started = parse_timestamp(outcome.get("started"))
        if started is not None:
            beat = started + dt.timedelta(seconds=outcome.get("duration") or 0)
            stale = (now - beat).total_seconds() > stale_after
    outcome["stale"] = stale
    outcome.pop("cost", None)
    return outcome


def strip_json(
    outcomes: list[dict[str, Any]], now: dt.datetime, stale_after: float
) -> list[dict[str, Any]]:
    """Return the overview's strip: ``outcomes`` as ``outcome_json`` shows them.

    The overview's outcomes are its own (``recent_outcomes``, read for this request, no cost
    in them): each gets its ``stale`` in place rather than a copy, ten thousand a poll at 500
    command ids.
    """
    return [_shown_outcome(outcome, now, stale_after) for outcome in outcomes]


def progress_json(
    run: RunRecord | None, found: Assessment, now: dt.datetime
) -> dict[str, Any] | None:
    """Return a running run's progress, its percentage and ETA, or ``None``.

    Only while the judge says the command's newest run is alive (``Assessment.running``): a
    stale run is not running and has no progress here (its history row keeps what it last
    reported). The ETA is the rate from the start to the latest heartbeat (when ``done`` was
    counted), carried on to now.
    """
    if not found.running or run is None or run.status not in UNFINISHED:
        return None
    if not isinstance(run.progress, dict):
        return None
    done, total = run.progress.get("done"), run.progress.get("total")
    seen = run.latest or run.started
    left = eta(done, total, run.started, seen)
    if left is not None:
        left = max(0.0, left - max(0.0, (now - seen).total_seconds()))
    return {
        "done": done,
        "total": total,
        "percent": progress_percent(done, total),
        "eta_seconds": None if left is None else round(left, 1),
    }


def schedule_json(expectation: Expectation | None) -> dict[str, Any] | None:
    """Return a command id's declared expectation, or ``None`` when none is declared."""
    if expectation is None:
        return None
    schedule = expectation.schedule
    return {
        "schedule": _seconds_or_text(schedule),
        "timezone": expectation.timezone,
        "start_margin_seconds": expectation.start_margin.total_seconds(),
        "max_runtime_seconds": _seconds_or_text(expectation.max_runtime),
        "alert_after": expectation.alert_after,
        "notify_recovery": expectation.notify_recovery,
        "muted": expectation.muted,
        "recover_after": expectation.recover_after,
        "flap_threshold": expectation.flap_threshold,
        "source": expectation.source,
        "min_duration_seconds": _seconds_or_text(expectation.min_duration),
        "max_duration_seconds": _seconds_or_text(expectation.max_duration),
        "check": check_text(expectation.check),
        "outliers": list(expectation.outliers) if expectation.outliers else None,
    }


def route_json(route: Route) -> dict[str, Any]:
    """Return where a command id's alerts go and what they add (``health/routing.py``): the
    same route the watcher follows, declared by the command or ``MONITORKIT_ALERT_ROUTES``."""
    return {
        "channels": None if route.channels is None else list(route.channels),
        "owner": route.owner,
        "runbook": route.runbook,
        "realert_every_seconds": _seconds_or_text(route.realert_every),
        "escalate_after_seconds": _seconds_or_text(route.escalate_after),
        "escalate_to": list(route.escalate_to),
    }


def check_text(check: Any) -> str | None:
    """Return a check of the outcome as a person reads it: its conditions, or its function's
    name; ``None`` without one."""
    if check is None:
        return None
    return str(getattr(check, "text", None) or getattr(check, "__name__", None) or check)


def _seconds_or_text(value: str | dt.timedelta | None) -> str | float | None:
    return value.total_seconds() if isinstance(value, dt.timedelta) else value


def overview(reporter: Reporter, settings: MonitorSettings = monitor_settings) -> dict[str, Any]:
    """Return every command id: health, last run, next run, progress and recent outcomes.

    Problems first (:func:`problems_first`), in the JSON as on the page. The last run is the
    newest record in full (``latest_runs``); the strip comes from the light
    ``recent_outcomes``.
    """
    now = utcnow()
    stale_after = settings.stale_after  # read once: each read judges the Django setting anew
    expectations = discover()
    store = reporter.health_store()
    watcher = watcher_health.read(store, expectations, settings, now)
    rows = command_health(reporter, expectations, watcher, now)
    recent = reporter.recent_outcomes(STRIP_LENGTH)
    snoozes = silence.shown(store, now)
    commands = []
    for command_id, latest, found in rows:
        strip = recent.get(command_id) or ([outcome_of(latest)] if latest is not None else [])
        strip = strip_json(strip[:STRIP_LENGTH], now, stale_after)
        last = found.last_run or latest
        commands.append(
            {
                "command_id": command_id,
                **_health_json(found),
                "last_run": (
                    None if last is None else run_json(last, now, stale_after, OVERVIEW_OMITS)
                ),
                "progress": progress_json(last, found, now),
                "recent": strip,
                **snoozed_json(active_for(snoozes, command_id, now)),
            }
        )
    commands.sort(key=problems_first)
    return {
        "generated": format_timestamp(now),
        "refresh_seconds": settings.page_refresh,
        "watcher": None if watcher is None else watcher.as_json(),
        "commands": commands,
    }


def problems_first(command: dict[str, Any]) -> tuple[int, str]:
    """Order the overview by how much a row needs a person (``Health.urgency``: failing,
    missed, stale, overrunning, late, running, ok, new), then by command id."""
    health = Health.of(command["health"])
    return (health.urgency if health is not None else len(Health), command["command_id"])


def command(
    reporter: Reporter,
    command_id: str,
    settings: MonitorSettings = monitor_settings,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> dict[str, Any] | None:
    """Return one command id's health, schedule, durations and one page of its kept runs
    (``None``: unknown).

    Three reads of the runs, none of them of every whole record: the judge's newest
    ``judge_depth`` records, the light outcomes of every kept run (its count, p50 and p95 and
    the chart's newest ``CHART_RUNS``), and the page's ``per_page`` records. The page's runs
    leave out ``output`` and ``traceback`` (``has_output`` and ``has_traceback`` say whether
    the run's own page, ``run()``, has them): ten thousand kept runs with kilobytes of output
    each would make the page and its JSON, polled by ``live.js``, megabytes. ``page`` past the
    last is the last, as Django's ``Paginator.get_page``.
    """
    now = utcnow()
    stale_after = settings.stale_after  # read once, as in ``overview``
    outcomes = reporter.command_outcomes(command_id)
    expectations = discover()
    expectation = expectations.get(command_id)
    if not outcomes and expectation is None:
        return None
    store = reporter.health_store()
    state = store.states().get(command_id) if store is not None else None
    watcher = watcher_health.read(store, expectations, settings, now)
    # The inputs every reader judges from: the newest judge_depth records, not the history.
    depth = judge_depth(expectations)
    judged = reporter.command_page(command_id, 0, depth) if outcomes else []
    found = judge_one(expectation, judged, state, now, stale_after)
    found = shown(found, state, judged, watcher.judged_until if watcher is not None else None)
    usual = outcome_durations(outcomes)
    usual_costs = costs(outcomes)
    newest = judged[0] if judged else None
    pages = max(1, -(-len(outcomes) // per_page))
    page = min(max(1, page), pages)
    runs = reporter.command_page(command_id, (page - 1) * per_page, per_page) if outcomes else []
    slow_factor, fast_fraction = settings.slow_factor, settings.fast_fraction
    snoozes = silence.holding(store, command_id, now)
    return {
        "command_id": command_id,
        **_health_json(found),
        **snoozed_json(snoozes),
        "snoozes": [snooze.as_dict() for snooze in snoozes],
        "generated": format_timestamp(now),
        "refresh_seconds": settings.page_refresh,
        "watcher": None if watcher is None else watcher.as_json(),
        "schedule": schedule_json(expectation),
        "alerts": route_json(route_for(command_id, expectation, read_routes()[0])),
        "durations": _durations_json(usual),
        "costs": {m.value: _durations_json(spread) for m, spread in usual_costs.items()},
        "slow_factor": slow_factor,
        "fast_fraction": fast_fraction,
        "progress": progress_json(newest, found, now),
        "newest_run_id": outcomes[0]["run_id"] if outcomes else None,
        "kept_runs": len(outcomes),
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "chart": [outcome_json(o, now, stale_after) for o in outcomes[:CHART_RUNS]],
        "runs": [
            {
                **run_json(run, now, stale_after, LIST_OMITS),
                "has_output": bool(run.output),
                "has_traceback": bool(run.traceback),
                "flags": flags(run, usual, slow_factor, fast_fraction)
                + cost_flags(run.cost, usual_costs, slow_factor),
            }
            for run in runs
        ],
    }


def run(
    reporter: Reporter,
    command_id: str,
    run_id: str,
    settings: MonitorSettings = monitor_settings,
) -> dict[str, Any] | None:
    """Return one kept run whole, output and traceback too (``None``: not kept).

    Its flags are judged against the command's usual durations and costs (the light
    outcomes).
    """
    found = reporter.run(command_id, run_id)
    if found is None:
        return None
    now = utcnow()
    outcomes = reporter.command_outcomes(command_id)
    usual = outcome_durations(outcomes)
    factor = settings.slow_factor
    return {
        "command_id": command_id,
        "generated": format_timestamp(now),
        **run_json(found, now, settings.stale_after),
        "flags": flags(found, usual, factor, settings.fast_fraction)
        + cost_flags(found.cost, costs(outcomes), factor),
    }


def _health_json(found: Assessment) -> dict[str, Any]:
    return {
        "health": found.health.value,
        "judged_by": "watcher" if found.by_watcher else "reader",
        "failures_in_row": found.failures_in_row,
        "running": found.running,
        "next_expected": format_timestamp(found.next_expected),
        "recovering": found.recovering_dict(),
    }


def _durations_json(usual: Durations) -> dict[str, Any]:
    return {"finished_runs": usual.count, "p50": usual.p50, "p95": usual.p95}
