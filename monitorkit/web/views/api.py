"""The JSON read API (shapes in ``docs/status-page.md``); ``live.js`` polls it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from .access import monitor_json
from .command import page_number, run_page_url
from .page import ReporterError, command_url, store

#: Keys whose values move with the clock alone (when the answer was made, ages, an ETA):
#: left out of a JSON's ETag, so it changes only when something stored did.
CLOCK_KEYS = frozenset({"generated", "ago_seconds", "eta_seconds"})


def _unavailable(why: str) -> JsonResponse:
    return JsonResponse({"error": why}, status=503)


def _without_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k not in CLOCK_KEYS}
    if isinstance(value, list):
        return [_without_clock(item) for item in value]
    return value


def answer_if_changed(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """Answer ``data``, or 304 and no body when it is what the poller already has.

    ``live.js`` sends the ETag of its last answer in ``If-None-Match``; a command's or a run's
    page polls every few seconds, and most polls find nothing new: they then fetch a few
    hundred bytes of headers, not the page of runs. (The views are never cached: the poller
    asks, the browser's cache is not involved.)
    """
    stable = json.dumps(_without_clock(data), sort_keys=True, default=str).encode()
    etag = '"' + hashlib.sha256(stable).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        unchanged = HttpResponse(status=304)
    else:
        unchanged = JsonResponse(data)
    unchanged["ETag"] = etag
    return unchanged


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
    return answer_if_changed(request, data)


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
    return answer_if_changed(request, data)
