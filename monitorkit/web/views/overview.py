"""The overview: one row per command id, updated in place by ``live.js`` from the JSON."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from ...healths import Health
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
    wrapped_id,
)


def strip_html(recent: list[dict[str, Any]]) -> SafeString:
    """Return the strip of outcomes, oldest first; every value escaped (``html.escape``).

    Built here rather than in the template: 20 marks a row, 500 rows, is most of the page, and
    the template engine takes several times longer for the same text. Each mark's status is
    judged once, for its ``data-status`` and its title.
    """
    marks = []
    escaped: dict[str, str] = {}  # a handful of statuses, each escaped once
    for outcome in reversed(recent):
        status = shown_status(outcome)
        shown = escaped.get(status)
        if shown is None:
            shown = escaped[status] = escape(status)
        marks.append(
            f'<span class="outcome" data-status="{shown}" '
            f'title="{escape(outcome_title(outcome, status))}"></span>'
        )
    return mark_safe("".join(marks))  # every value above is escaped


#: The ``health`` filter that selects every health that is a problem (``Health.problem``).
PROBLEMS = "problems"
#: The longest search text taken from the URL.
MAX_QUERY = 200


class Filter:
    """Which rows the overview shows: ``?health=`` (a health, or ``problems``) and ``?q=``.

    In the URL, so a filtered view can be bookmarked and shared; the server draws it and
    ``live.js`` applies the same rules as the visitor clicks and types (no reload). Rows that do
    not match are drawn ``hidden``, so clearing the filter needs no request.
    """

    def __init__(self, health: str, query: str) -> None:
        self.health = health
        self.query = query

    @classmethod
    def of(cls, request: HttpRequest) -> Filter:
        health = request.GET.get("health", "").strip()
        if health != PROBLEMS:
            found = Health.of(health.upper())
            health = found.value if found is not None else ""
        return cls(health, request.GET.get("q", "").strip()[:MAX_QUERY])

    def searched(self, command: dict[str, Any]) -> bool:
        """Return whether the command id contains the search text, in any case (``lower``, as
        ``live.js`` compares with ``toLowerCase``)."""
        return self.query.lower() in command["command_id"].lower()

    def shows(self, command: dict[str, Any]) -> bool:
        """Return whether the row of ``command`` is shown."""
        if not self.searched(command):
            return False
        if self.health == PROBLEMS:
            health = Health.of(command["health"])
            return health is not None and health.problem
        return not self.health or command["health"] == self.health

    def url(self, health: str, carried: str) -> str:
        """Return the query string of this view with the health filter set to ``health``."""
        pairs = [_pair(part) for part in carried.split("&") if part]
        pairs += [("health", health)] if health else []
        pairs += [("q", self.query)] if self.query else []
        return "?" + urlencode(pairs)


def _pair(part: str) -> tuple[str, str]:
    name, _, value = part.partition("=")
    return name, value


def count_links(
    commands: list[dict[str, Any]], wanted: Filter, carried: str
) -> list[dict[str, Any]]:
    """Return the counts above the table, each a link that filters by it (again: all rows).

    Counted over the rows the search matches: all, the problems, then each health present,
    most urgent first.
    """
    searched = [c for c in commands if wanted.searched(c)]
    by_health: dict[str, int] = {}
    for command in searched:
        by_health[command["health"]] = by_health.get(command["health"], 0) + 1
    problems = sum(n for h, n in by_health.items() if (found := Health.of(h)) and found.problem)
    links: list[dict[str, Any]] = [
        {"filter": "", "label": "All", "count": len(searched)},
        {"filter": PROBLEMS, "label": "Problems", "count": problems},
    ]
    links += [
        {"filter": health.value, "label": health.value, "count": by_health[health.value]}
        for health in sorted(Health, key=lambda h: h.urgency)
        if health.value in by_health
    ]
    for link in links:
        current = link["filter"] == wanted.health
        link["current"] = current
        link["url"] = wanted.url("" if current else link["filter"], carried)
    return links


def is_problem(command: dict[str, Any]) -> bool:
    """Return whether the command's health is a problem (``Health.problem``)."""
    health = Health.of(command["health"])
    return health is not None and health.problem


def worst_health(commands: list[dict[str, Any]]) -> str:
    """Return the most urgent health among ``commands`` (the tab's icon), ``""`` for none."""
    found = [h for c in commands if (h := Health.of(c["health"])) is not None]
    return min(found, key=lambda h: h.urgency).value if found else ""


def kiosk_summary(commands: list[dict[str, Any]]) -> str:
    """Return the wall screen's line for everything that is not a problem: ``12 OK, 2 running,
    1 new`` (most urgent first); ``All 15 commands OK`` when all are, ``Nothing wrong: 14 OK,
    1 new`` when none is a problem but some are not OK yet.

    ``live.js`` (``kioskSummary``) says the same after each update.
    """
    others = [c for c in commands if not is_problem(c)]
    if others and len(others) == len(commands) and all(c["health"] == "OK" for c in others):
        return f"All {len(others)} commands OK"
    by_health: dict[str, int] = {}
    for command in others:
        by_health[command["health"]] = by_health.get(command["health"], 0) + 1
    parts = [
        f"{by_health[h.value]} {h.value if h is Health.OK else h.value.lower()}"
        for h in sorted(Health, key=lambda h: h.urgency)
        if h.value in by_health
    ]
    calm = others and len(others) == len(commands)
    return ("Nothing wrong: " if calm else "") + ", ".join(parts)


def overview_row(
    command: dict[str, Any], url: Callable[[str], str], wanted: Filter | None = None
) -> dict[str, Any]:
    """Return one overview row: the JSON of the command id and the texts shown for it."""
    run = command["last_run"] or {}
    return {
        "data": command,
        "shown": wanted is None or wanted.shows(command),
        "problem": is_problem(command),
        "run": run,
        "status": shown_status(run),
        "url": url(command["command_id"]),
        "id_html": wrapped_id(command["command_id"]),
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
    from .. import dashboard  # when a page is drawn, not with the URLconf (views/__init__.py)

    context: dict[str, Any] = {
        **options(request),
        "api_url": reverse("monitorkit:api-overview"),
        "healths": [h.value for h in Health],
        # For live.js to filter and count as the server does: problems, and the order of urgency.
        "problem_healths": " ".join(h.value for h in Health if h.problem),
        "health_order": " ".join(h.value for h in sorted(Health, key=lambda h: h.urgency)),
    }
    reporter = store()
    if reporter is None:
        return unavailable(request, "No store is configured.", context)
    try:
        data = dashboard.overview(reporter)
    except ReporterError as err:
        return unavailable(request, f"{reporter.describe()} could not be read: {err}", context)
    url = command_url("monitorkit:command")
    wanted = Filter.of(request)
    rows = [overview_row(command, url, wanted) for command in data["commands"]]
    return TemplateResponse(
        request,
        "monitorkit/overview.html",
        {
            **context,
            "rows": rows,
            "counts": count_links(data["commands"], wanted, context["carried_query"]),
            "filter": wanted,
            "matched": any(row["shown"] for row in rows),
            "problem_count": sum(row["problem"] for row in rows),
            "worst_health": worst_health(data["commands"]),
            "kiosk_summary": kiosk_summary(data["commands"]),
            "generated": data["generated"],
            "generated_text": when_text(data["generated"]),
            "watcher": data["watcher"],
        },
    )
