"""The JSON read API (shapes in ``docs/status-page.md``); ``live.js`` polls it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from .access import monitor_json
from .page import ReporterError, command_url, store


def _unavailable(why: str) -> JsonResponse:
    return JsonResponse({"error": why}, status=503)


@monitor_json
def overview_json(request: HttpRequest) -> HttpResponse:
    """Every command id: health, last run, next run, progress, recent outcomes."""
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)

    reporter = store()
    if reporter is None:
        return _unavailable("No store is configured.")
    try:
        data = dashboard.overview(reporter)
    except ReporterError as err:
        return _unavailable(f"{reporter.describe()} could not be read: {err}")
    page_url = command_url("monitorkit:command")
    api_url = command_url("monitorkit:api-command")
    for command in data["commands"]:
        command["url"] = page_url(command["command_id"])
        command["api_url"] = api_url(command["command_id"])
    return JsonResponse(data)


@monitor_json
def command_json(request: HttpRequest, command_id: str) -> HttpResponse:
    """One command id: health, schedule, durations, every kept run with its flags."""
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)

    reporter = store()
    if reporter is None:
        return _unavailable("No store is configured.")
    try:
        data = dashboard.command(reporter, command_id)
    except ReporterError as err:
        return _unavailable(f"{reporter.describe()} could not be read: {err}")
    if data is None:
        return JsonResponse({"error": f"No runs of {command_id!r} are kept."}, status=404)
    return JsonResponse(data)
