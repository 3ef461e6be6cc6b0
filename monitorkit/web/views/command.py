"""A command id's own page: schedule, durations and their chart, and the paginated history."""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from .access import monitor_view
from .chart import duration_chart
from .page import (
    ReporterError,
    ago_text,
    duration_text,
    message_text,
    options,
    outcome_title,
    progress_text,
    run_progress_text,
    schedule_words,
    shown_status,
    store,
    unavailable,
    when_text,
    wrapped_id,
)
from .timeline import timeline_context

#: Runs on one page of the history.
PER_PAGE = 25


def history_row(run: dict[str, Any]) -> dict[str, Any]:
    """Return one run of the history: its JSON and the texts shown for it."""
    metadata = run.get("metadata") or {}
    return {
        "data": run,
        "status": shown_status(run),
        "started": when_text(run.get("started")),
        "ago": ago_text(run.get("ago_seconds")),
        "finished": when_text(run.get("finished")),
        "duration": duration_text(run.get("duration")),
        "metadata": json.dumps(metadata, indent=2, sort_keys=True, default=str) if metadata else "",
        "progress": run_progress_text(run.get("progress")),
        "message": message_text(run),
    }


def schedule_texts(schedule: dict[str, Any] | None) -> dict[str, str]:
    """Return the schedule in words: when it runs, its start margin and longest run."""
    if not schedule:
        return {}
    limit = schedule.get("max_runtime_seconds")
    return {
        "schedule_words": schedule_words(schedule.get("schedule")),
        "start_margin": duration_text(schedule.get("start_margin_seconds")),
        "max_runtime": duration_text(limit)
        if isinstance(limit, (int, float))
        else str(limit or ""),
    }


@monitor_view
def command_page(request: HttpRequest, command_id: str) -> HttpResponse:
    """One command id (HTML); ``?page=N`` pages through its kept runs."""
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)

    context: dict[str, Any] = {
        **options(request),
        "command_id": command_id,
        "api_url": reverse("monitorkit:api-command", args=[command_id]),
    }
    reporter = store()
    if reporter is None:
        return unavailable(request, "No store is configured.", context)
    try:
        data = dashboard.command(reporter, command_id)
    except ReporterError as err:
        return unavailable(request, f"{reporter.describe()} could not be read: {err}", context)
    if data is None:
        raise Http404("No runs of this command id are kept, and none is scheduled.")
    runs = data["runs"]
    page = Paginator(runs, PER_PAGE).get_page(request.GET.get("page"))
    usual = data["durations"]
    chart = duration_chart(runs, usual["p50"], usual["p95"], [outcome_title(run) for run in runs])
    return TemplateResponse(
        request,
        "monitorkit/command.html",
        {
            **context,
            "data": data,
            "page": page,
            "rows": [history_row(run) for run in page.object_list],
            "chart": chart,
            **timeline_context(reporter, command_id, request),
            "p50": duration_text(usual["p50"]),
            "p95": duration_text(usual["p95"]),
            "longest": duration_text(chart["longest"]) if chart else "",
            "next_expected": when_text(data["next_expected"]),
            "id_html": wrapped_id(command_id),
            **schedule_texts(data["schedule"]),
            "progress_text": progress_text(data["progress"]),
            "newest": runs[0] if runs else None,
            "generated": data["generated"],
            "generated_text": when_text(data["generated"]),
            "watcher": data["watcher"],
        },
    )
