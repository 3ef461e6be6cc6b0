"""The timeline of one command id: its runs over the last 24 hours or 7 days on a time axis.

Like the duration chart (``chart.py``), a pure function computes a small model and a template
(``_timeline.html``) draws it as inline SVG, every value escaped there. Each run is a mark at
its start in its outcome's colour (``data-status``, ``STALE`` for a stale run), each ``MISSED``
record (the watcher's record of a start that never came) a hollow mark at the missed start, and
each expected start a tick, so a gap between the ticks and the marks shows. A mark is reached
with Tab and names its run: its ``<title>`` for the mouse and screen readers, and a label
shown on focus by CSS (a ``<title>`` shows on hover only); the SVG is a ``group`` of such
named marks, not one ``img``, whose children a screen reader would not reach.

The view reads the command's kept history once (``command_history``) and keeps the runs that
started in the window: the page's history may be paginated, so the timeline does not take its
runs from it, and the stores need no new read.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.http import HttpRequest

from ...conf import monitor_settings
from ...record import parse_timestamp, utcnow
from ...stores.base import Reporter
from .page import outcome_title, shown_status

if TYPE_CHECKING:  # the schedules are imported when a page is drawn: Django's URL check
    # imports this module (through the URLconf) before every management command.
    from ...health.schedules import Expectation

WIDTH = 720
HEIGHT = 56
LABEL_TOP = 8  # the baseline of a mark's label, shown above it on hover and focus
MARK_Y = 18
MARK_RADIUS = 5
TICK_TOP, TICK_BOTTOM = 30, 36
LABEL_Y = 50

#: The windows one may choose (``?window=``), the first the default, with their axis labels'
#: interval and format.
WINDOWS: dict[str, tuple[dt.timedelta, dt.timedelta, str]] = {
    "24h": (dt.timedelta(hours=24), dt.timedelta(hours=3), "%H:%M"),
    "7d": (dt.timedelta(days=7), dt.timedelta(days=1), "%a %d %b"),
}
WINDOW_NAMES = {"24h": "24 hours", "7d": "7 days"}

#: Expected starts drawn at most: an every-minute schedule has 10,080 in 7 days, more ticks
#: than the axis has pixels; past this the page says so instead.
MAX_TICKS = 500


def _x(moment: dt.datetime, start: dt.datetime, window: dt.timedelta) -> str:
    return f"{(moment - start) / window * WIDTH:.2f}"


def expected_starts(
    expectation: Expectation | None,
    runs: list[dict[str, Any]],
    start: dt.datetime,
    now: dt.datetime,
    cap: int = MAX_TICKS,
) -> list[dt.datetime] | None:
    """Return the expected starts in ``[start, now]``, oldest first; ``None``: more than ``cap``.

    A cron schedule's starts are fixed times. An interval's are not: each is an interval after
    the start before it (a run or a ``MISSED`` record), so they are walked from the runs
    (``runs``, every kept one, newest first), as the watcher expects them.
    """
    if expectation is None or expectation.schedule is None:
        return []
    found: list[dt.datetime] = []
    if isinstance(expectation.schedule, dt.timedelta):
        interval = expectation.schedule
        anchors = sorted(_started(run) for run in runs)
        for index, anchor in enumerate(anchors):
            following = anchors[index + 1] if index + 1 < len(anchors) else None
            moment = expectation.due_after(anchor)
            if moment is not None and moment < start:  # a long silence before the window
                moment += interval * ((start - moment) // interval)
            # Walk on until the next run or record: it answers (or records the miss of) the
            # start expected then, and the next expected starts are counted from it.
            while moment is not None and moment <= now:
                if following is not None and moment > following + _early_tolerance():
                    break
                if moment >= start:
                    found.append(moment)
                    if len(found) > cap:
                        return None
                moment += interval
        return sorted(set(found))
    moment = expectation.next_expected(start - dt.timedelta(microseconds=1))
    while moment is not None and moment <= now:
        found.append(moment)
        if len(found) > cap:
            return None
        moment = expectation.next_expected(moment)
    return found


def _early_tolerance() -> dt.timedelta:
    from ...health.schedules import EARLY_TOLERANCE

    return EARLY_TOLERANCE


def _expectation(command_id: str) -> Expectation | None:
    from ...health.schedules import discover

    return discover().get(command_id)


def _started(run: dict[str, Any]) -> dt.datetime:
    """Return when a run started (every kept run has a start)."""
    started = parse_timestamp(run["started"])
    if started is None:
        raise ValueError(f"run {run.get('run_id')!r} has no start")
    return started


def timeline(
    runs: list[dict[str, Any]],
    expectation: Expectation | None,
    now: dt.datetime,
    window: str = "24h",
) -> dict[str, Any]:
    """Return the timeline of ``runs`` (JSON runs, as ``dashboard.run_json``) ending at ``now``.

    Runs that started before the window (or after ``now``) are left out; ``MISSED`` records
    are gaps (``missed``), the others marks; ``ticks`` are the expected starts from the oldest
    kept record on (none drawn and a ``note`` when there are more than :data:`MAX_TICKS`).
    """
    length, step, label_format = WINDOWS[window]
    start = now - length
    marks = []
    for run in sorted(runs, key=lambda run: run["started"]):
        started = _started(run)
        if not start <= started <= now:
            continue
        status = shown_status(run)
        marks.append(
            {
                "x": _x(started, start, length),
                # The label shown on hover and focus reads inwards, so it stays in the picture.
                "anchor": "start" if started - start < length / 2 else "end",
                "status": status,
                "missed": status == "MISSED",
                "title": outcome_title(run),
            }
        )
    # Ticks before the oldest kept record would look like missed starts, but they are runs the
    # store no longer keeps (MONITORKIT_RETENTION), or starts from before the command existed.
    oldest = min((_started(run) for run in runs), default=None)
    kept_from = start if oldest is None else max(start, oldest - _early_tolerance())
    starts = expected_starts(expectation, runs, kept_from, now)
    notes = []
    if starts and kept_from > start:
        notes.append(
            f"Nothing older than {oldest:%Y-%m-%d %H:%M} UTC is kept:"
            " expected starts are drawn from there."
        )
    if starts is None:
        notes.append(
            f"More than {MAX_TICKS} starts are expected in {WINDOW_NAMES[window]}: "
            "they are not drawn."
        )
        starts = []
    labels = []
    moment = dt.datetime.fromtimestamp(
        (start.timestamp() // step.total_seconds() + 1) * step.total_seconds(), tz=dt.timezone.utc
    )
    while moment < now:
        labels.append({"x": _x(moment, start, length), "text": moment.strftime(label_format)})
        moment += step
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "mark_y": MARK_Y,
        "label_top": LABEL_TOP,
        "radius": MARK_RADIUS,
        "tick_top": TICK_TOP,
        "tick_bottom": TICK_BOTTOM,
        "label_y": LABEL_Y,
        "window": window,
        "window_name": WINDOW_NAMES[window],
        "marks": marks,
        "ticks": [_x(moment, start, length) for moment in starts],
        "expected": len(starts),
        "note": " ".join(notes),
        "labels": labels,
    }


def timeline_context(
    reporter: Reporter, command_id: str, request: HttpRequest, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Return the command page's ``timeline`` and its window links (``timeline_windows``).

    Reads the outcomes of the command's kept runs (``Reporter.command_outcomes``: run id,
    number, status, start, duration; never output or traceback), judged stale as the strip's
    are (``outcome_json``): the page itself reads them the same way.
    """
    from .. import dashboard  # when a page is drawn, as ``command.py`` does

    now = now or utcnow()
    window = request.GET.get("window", "")
    window = window if window in WINDOWS else next(iter(WINDOWS))
    stale_after = monitor_settings.stale_after
    runs = [
        dashboard.outcome_json(outcome, now, stale_after)
        for outcome in reporter.command_outcomes(command_id)
    ]
    links = []
    for name in WINDOWS:
        query = request.GET.copy()
        query["window"] = name
        links.append(
            {
                "name": name,
                "text": WINDOW_NAMES[name],
                "query": urlencode(sorted(query.lists()), doseq=True),
                "current": name == window,
            }
        )
    return {
        "timeline": timeline(runs, _expectation(command_id), now, window),
        "timeline_windows": links,
    }
