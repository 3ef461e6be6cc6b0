"""The overview: one row per command id, updated in place by ``live.js`` from the JSON."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from .access import monitor_view
from .page import (
    ReporterError,
    ago_text,
    command_url,
    duration_text,
    message_text,
    options,
    outcome_title,
    progress_text,
    shown_status,
    store,
    unavailable,
    when_text,
)


def strip_html(recent: list[dict[str, Any]]) -> SafeString:
    """Return the strip of outcomes, oldest first; every value escaped (``html.escape``).

    Built here rather than in the template: 20 marks a row, 500 rows, is most of the page, and
    the template engine takes several times longer for the same text.
    """
    marks = (
        f'<span class="outcome" data-status="{escape(shown_status(o))}" '
        f'title="{escape(outcome_title(o))}"></span>'
        for o in reversed(recent)
    )
    return mark_safe("".join(marks))  # every value above is escaped


def overview_row(command: dict[str, Any], url: Callable[[str], str]) -> dict[str, Any]:
    """Return one overview row: the JSON of the command id and the texts shown for it."""
    run = command["last_run"] or {}
    return {
        "data": command,
        "run": run,
        "status": shown_status(run),
        "url": url(command["command_id"]),
        "started": when_text(run.get("started")),
        "ago": ago_text(run.get("ago_seconds")),
        "duration": duration_text(run.get("duration")),
        "next_expected": when_text(command["next_expected"]),
        "progress_text": progress_text(command["progress"]),
        "message": message_text(run),
        "strip": strip_html(command["recent"]),
    }


@monitor_view
def overview(request: HttpRequest) -> HttpResponse:
    """Every command id at a glance (HTML)."""
    from ...health.judge import Health
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)

    context: dict[str, Any] = {
        **options(request),
        "api_url": reverse("monitorkit:api-overview"),
        "healths": [h.value for h in Health],
    }
    reporter = store()
    if reporter is None:
        return unavailable(request, "No store is configured.", context)
    try:
        data = dashboard.overview(reporter)
    except ReporterError as err:
        return unavailable(request, f"{reporter.describe()} could not be read: {err}", context)
    url = command_url("monitorkit:command")
    rows = [overview_row(command, url) for command in data["commands"]]
    counts: dict[str, int] = {}
    for command in data["commands"]:
        counts[command["health"]] = counts.get(command["health"], 0) + 1
    return TemplateResponse(
        request,
        "monitorkit/overview.html",
        {
            **context,
            "rows": rows,
            "counts": sorted(counts.items()),
            "generated": data["generated"],
            "generated_text": when_text(data["generated"]),
            "watcher": data["watcher"],
        },
    )
