"""What every page shares: the store to read, the kiosk and refresh options, display texts.

The texts are made here, in Python, so the templates stay plain and every value they show goes
through Django's autoescaping.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from ...conf import monitor_settings
from ...stores import Reporter, ReporterError, store_reporter
from ...words import describe_age, human_duration

__all__ = ["Reporter", "ReporterError", "options", "store", "unavailable"]

#: ``?refresh=`` is taken between these (seconds).
REFRESH_BOUNDS = (0.5, 3600.0)


def store() -> Reporter | None:
    """Return the reporter to read from (the database or Firebase), ``None`` when neither."""
    return store_reporter()


def options(request: HttpRequest) -> dict[str, Any]:
    """Return the page's options: ``?kiosk=1`` and ``?refresh=<seconds>``."""
    kiosk = request.GET.get("kiosk", "") not in ("", "0", "false", "no")
    refresh = monitor_settings.page_refresh
    try:
        asked = float(request.GET.get("refresh", ""))
    except ValueError:
        asked = math.nan
    if math.isfinite(asked):
        refresh = min(max(asked, REFRESH_BOUNDS[0]), REFRESH_BOUNDS[1])
    carried = ["kiosk=1"] if kiosk else []
    if math.isfinite(asked):
        carried.append(f"refresh={refresh:g}")
    return {"kiosk": kiosk, "refresh_seconds": f"{refresh:g}", "carried_query": "&".join(carried)}


def unavailable(request: HttpRequest, why: str, context: dict[str, Any]) -> HttpResponse:
    """Answer 503 with a page that says why the runs could not be read."""
    return TemplateResponse(
        request, "monitorkit/unavailable.html", {**context, "why": why}, status=503
    )


def when_text(timestamp: str | None) -> str:
    """Return a stored timestamp as a person reads it: ``2024-01-01 03:00:05 UTC``."""
    return f"{timestamp[:19].replace('T', ' ')} UTC" if timestamp else ""


def duration_text(seconds: float | None) -> str:
    """Return a duration in words: ``< 10 ms``, ``1.2 s``, ``5 min`` (``words.human_duration``)."""
    return human_duration(seconds)


#: Where a command id may break across lines: after a run of these (``import_orders__day_2``).
ID_SEPARATORS = re.compile(r"([_\-.:/]+)")


def wrapped_id(command_id: str) -> SafeString:
    """Return a command id escaped, with a line-break opportunity (``<wbr>``) after each run of
    separators, so a long id wraps between its words, not inside them (``live.js``'s
    ``wrappedId`` builds the same)."""
    return mark_safe(ID_SEPARATORS.sub(r"\1<wbr>", escape(command_id)))  # escaped above


def schedule_words(schedule: Any) -> str:
    """Return a schedule as a person reads it: ``Every 10th minute of every hour`` (cronsim's
    ``explain``) for a cron expression, ``Every 6 h`` for an interval in seconds; ``""`` when
    it cannot be said (the cron expression is shown beside it anyway)."""
    if isinstance(schedule, (int, float)) and not isinstance(schedule, bool):
        return f"Every {human_duration(schedule)}"
    if not isinstance(schedule, str):
        return ""
    try:
        from cronsim import CronSim

        return str(CronSim(schedule, dt.datetime(2000, 1, 1)).explain())
    except Exception:  # noqa: BLE001 - an expression cronsim cannot explain is shown as it is
        return ""


def ago_text(seconds: float | None) -> str:
    """Return how long ago: ``3m 05s ago`` (``in 2m`` for the future)."""
    if seconds is None:
        return ""
    if seconds < 0:
        return f"in {describe_age(-seconds)}"
    return f"{describe_age(seconds)} ago"


def progress_text(progress: dict[str, Any] | None) -> str:
    """Return ``3 / 10 (30%), ETA 12s`` (the parts that are known)."""
    if not progress:
        return ""
    done, total = progress.get("done"), progress.get("total")
    text = f"{_number(done)} / {_number(total)}" if total is not None else f"{_number(done)} done"
    if progress.get("percent") is not None:
        text += f" ({progress['percent']:.0f}%)"
    if progress.get("eta_seconds") is not None:
        text += f", ETA {describe_age(progress['eta_seconds'])}"
    return text


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def shown_status(run: dict[str, Any]) -> str:
    """Return the status a page shows for a run or an outcome: ``STALE`` for a stale one.

    A run that stopped beating keeps its stored ``RUNNING``; the judge's ``stale`` wins on
    every page (``dashboard.run_json``).
    """
    return "STALE" if run.get("stale") else str(run.get("status") or "")


def message_text(run: dict[str, Any]) -> str:
    """Return the message a page shows for a run: the judge's words for a stale one.

    A run that stopped beating keeps its last stored message (``Command running``); a page
    says what is known instead: when it was last heard of (as ``live.js`` does).
    """
    if run.get("stale"):
        return f"No heartbeat since {when_text(run.get('latest') or run.get('started'))}"
    return str(run.get("message") or "")


def run_progress_text(progress: Any) -> str:
    """Return a run's stored progress in words, ``2 / 40 (5%)`` (no ETA: it is what it said)."""
    from ..stats import progress_percent

    if not isinstance(progress, dict) or progress.get("done") is None:
        return ""
    done, total = progress.get("done"), progress.get("total")
    numbers = all(isinstance(v, (int, float)) for v in (done, total) if v is not None)
    percent = progress_percent(done, total) if numbers else None
    return progress_text({"done": done, "total": total, "percent": percent})


def outcome_title(outcome: dict[str, Any], status: str | None = None) -> str:
    """Return the tooltip of one outcome of the strip.

    ``status``: its ``shown_status``, when the caller has it already (the overview's strip
    draws ten thousand marks a request, each with its status and its title).
    """
    seq = outcome.get("seq")
    parts = (
        f"#{seq}" if seq else "",
        shown_status(outcome) if status is None else status,
        when_text(outcome.get("started")),
        duration_text(outcome.get("duration")),
    )
    return " · ".join([p for p in parts if p])


_PLACEHOLDER = "monitorkit-command-id-placeholder"
_SAFE = "/~:@!$&'()*+,;="


def command_url(name: str) -> Callable[[str], str]:
    """Return a function of a command id to its URL ``name``: one ``reverse`` for all ids."""
    pattern = reverse(name, args=[_PLACEHOLDER])
    return lambda command_id: pattern.replace(_PLACEHOLDER, quote(command_id, safe=_SAFE))
