"""A command id's own page: schedule, durations and their chart, and the paginated history;
and each kept run's own page."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from .access import can_snooze, monitor_view
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


def history_row(run: dict[str, Any]) -> dict[str, Any]:
    """Return one run of the history: its JSON and the texts shown for it."""
    from ...release import release_name  # when a page is drawn: not before every command

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
        "release": release_name(run.get("release")) or "",
    }


def schedule_texts(schedule: dict[str, Any] | None) -> dict[str, str]:
    """Return the schedule in words: when it runs, its start margin and longest run."""
    if not schedule:
        return {}
    limit = schedule.get("max_runtime_seconds")
    low, high = schedule.get("min_duration_seconds"), schedule.get("max_duration_seconds")
    return {
        "expected_duration": ", ".join(
            words
            for words in (
                f"at least {duration_text(low)}" if low is not None else "",
                f"at most {duration_text(high)}" if high is not None else "",
            )
            if words
        ),
        "schedule_words": schedule_words(schedule.get("schedule")),
        "start_margin": duration_text(schedule.get("start_margin_seconds")),
        "max_runtime": duration_text(limit)
        if isinstance(limit, (int, float))
        else str(limit or ""),
    }


def route_texts(alerts: dict[str, Any]) -> dict[str, str]:
    """Return where a command's alerts go, in words: channels, repeats, escalation, runbook.

    The runbook is a link only when it is an http(s) URL: any other text (a ``javascript:``
    URL among them) is shown as text.
    """
    channels = alerts["channels"]
    escalate = alerts["escalate_after_seconds"]
    repeat = alerts["realert_every_seconds"]
    runbook = alerts["runbook"] or ""
    return {
        "alert_channels": "every channel" if channels is None else ", ".join(channels) or "none",
        "alert_escalation": (
            f"after {duration_text(escalate)} also {', '.join(alerts['escalate_to']) or 'the same'}"
            if escalate is not None
            else ""
        ),
        "alert_repeat": f"repeated every {duration_text(repeat)}" if repeat is not None else "",
        "runbook_url": runbook if runbook.lower().startswith(("https://", "http://")) else "",
    }


def page_number(request: HttpRequest) -> int:
    """Return ``?page=N`` (1 when missing or not a number; past the last is the last)."""
    try:
        return max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        return 1


@monitor_view
@ensure_csrf_cookie  # the snooze forms' token: set whether or not the project has the middleware
def command_page(request: HttpRequest, command_id: str) -> HttpResponse:
    """One command id (HTML); ``?page=N`` pages through its kept runs, read a page at a time."""
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)
    from .cost import usual_cost_rows

    context: dict[str, Any] = {
        **options(request),
        "command_id": command_id,
        "api_url": reverse("monitorkit:api-command", args=[command_id]),
    }
    reporter = store()
    if reporter is None:
        return unavailable(request, "No store is configured.", context)
    try:
        data = dashboard.command(reporter, command_id, page=page_number(request))
    except ReporterError as err:
        return unavailable(request, f"{reporter.describe()} could not be read: {err}", context)
    if data is None:
        raise Http404("No runs of this command id are kept, and none is scheduled.")
    runs = data["runs"]
    run_url = run_page_url(command_id)
    page = SimpleNamespace(
        number=data["page"],
        paginator=SimpleNamespace(num_pages=data["pages"]),
        has_previous=data["page"] > 1,
        has_next=data["page"] < data["pages"],
        previous_page_number=data["page"] - 1,
        next_page_number=data["page"] + 1,
    )
    usual = data["durations"]
    charted = data["chart"]
    chart = duration_chart(charted, usual["p50"], usual["p95"], [outcome_title(o) for o in charted])
    return TemplateResponse(
        request,
        "monitorkit/command.html",
        {
            **context,
            "data": data,
            "page": page,
            "rows": [{**history_row(run), "url": run_url(run["run_id"])} for run in runs],
            "chart": chart,
            **timeline_context(reporter, command_id, request),
            "p50": duration_text(usual["p50"]),
            "p95": duration_text(usual["p95"]),
            "cost_rows": usual_cost_rows(data["costs"]),
            "longest": duration_text(chart["longest"]) if chart else "",
            "next_expected": when_text(data["next_expected"]),
            "id_html": wrapped_id(command_id),
            **schedule_texts(data["schedule"]),
            **route_texts(data["alerts"]),
            "progress_text": progress_text(data["progress"]),
            "newest": runs[0] if runs and data["page"] == 1 else None,
            "generated": data["generated"],
            "generated_text": when_text(data["generated"]),
            "watcher": data["watcher"],
            **snooze_context(request, command_id, data["snoozes"]),
        },
    )


def snooze_context(
    request: HttpRequest, command_id: str, snoozes: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return what the page's snooze section shows: the snoozes holding the command id, and
    the forms for a user who may snooze (``access.can_snooze``)."""
    from .snooze import DURATIONS

    return {
        "snoozes": [
            {**s, "start_text": when_text(s["start"]), "until_text": when_text(s["until"])}
            for s in snoozes
        ],
        "can_snooze": can_snooze(request.user),
        "snooze_url": reverse("monitorkit:snooze", args=[command_id]),
        "snooze_durations": DURATIONS,
    }


def run_page_url(command_id: str) -> Callable[[str], str]:
    """Return a function of a run id to its page's URL under ``command_id``: one ``reverse``."""
    pattern = reverse("monitorkit:run", args=[command_id, "0"])
    return lambda run_id: pattern[: -len("0/")] + quote(run_id, safe="") + "/"


@monitor_view
def run_page(request: HttpRequest, command_id: str, run_id: str) -> HttpResponse:
    """One kept run (HTML), every field of it, its output and traceback open: the alert's link.

    A run retention has removed, or that never was, is a 404.
    """
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)
    from .cost import cost_rows, release_text

    context: dict[str, Any] = {
        **options(request),
        "command_id": command_id,
        "command_url": reverse("monitorkit:command", args=[command_id]),
        "api_url": reverse("monitorkit:api-run", args=[command_id, run_id]),
    }
    reporter = store()
    if reporter is None:
        return unavailable(request, "No store is configured.", context)
    try:
        data = dashboard.run(reporter, command_id, run_id)
    except ReporterError as err:
        return unavailable(request, f"{reporter.describe()} could not be read: {err}", context)
    if data is None:
        raise Http404("This run is not kept.")
    return TemplateResponse(
        request,
        "monitorkit/run.html",
        {
            **context,
            "data": data,
            "row": history_row(data),
            "latest_text": when_text(data.get("latest")),
            "release_text": release_text(data.get("release")),
            "cost_rows": cost_rows(data.get("cost")),
            "generated": data["generated"],
            "generated_text": when_text(data["generated"]),
        },
    )
