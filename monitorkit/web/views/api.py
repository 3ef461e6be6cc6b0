"""The JSON read API (shapes in ``docs/status-page.md``); ``live.js`` polls it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from .access import monitor_json
from .command import page_number, run_page_url
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
    """One command id: health, schedule, durations and a page (``?page=N``) of its kept runs,
    each with its flags and run page's URL, without output and traceback."""
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)

    reporter = store()
    if reporter is None:
        return _unavailable("No store is configured.")
    try:
        data = dashboard.command(reporter, command_id, page=page_number(request))
    except ReporterError as err:
        return _unavailable(f"{reporter.describe()} could not be read: {err}")
    if data is None:
        return JsonResponse({"error": f"No runs of {command_id!r} are kept."}, status=404)
    run_url, run_api_url = run_page_url(command_id), run_json_url(command_id)
    for run in data["runs"]:
        run["url"] = run_url(run["run_id"])
        run["api_url"] = run_api_url(run["run_id"])
    return JsonResponse(data)


def run_json_url(command_id: str) -> Callable[[str], str]:
    """Return a function of a run id to its JSON's URL under ``command_id``: one ``reverse``."""
    pattern = reverse("monitorkit:api-run", args=[command_id, "0"])
    return lambda run_id: pattern[: -len("0.json")] + quote(run_id, safe="") + ".json"


@monitor_json
def run_json(request: HttpRequest, command_id: str, run_id: str) -> HttpResponse:
    """One kept run, whole: output and traceback too."""
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)

    reporter = store()
    if reporter is None:
        return _unavailable("No store is configured.")
    try:
        data = dashboard.run(reporter, command_id, run_id)
    except ReporterError as err:
        return _unavailable(f"{reporter.describe()} could not be read: {err}")
    if data is None:
        return JsonResponse({"error": f"Run {run_id!r} of {command_id!r} is not kept."}, status=404)
    data["url"] = run_page_url(command_id)(run_id)
    return JsonResponse(data)
