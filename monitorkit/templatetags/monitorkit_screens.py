"""The tab's icon and title: the worst health's colour and the number of problems.

A tag library rather than context from each view: every page extends ``base.html``, and the
command page's view (not this module's to change) already passes its ``data.health``. Only
Django's template module is imported with the library: Django's template check imports every
tag library before every management command; ``healths`` is imported when a page is drawn.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

#: Each health's colour in the tab: the light theme's badge colours (monitorkit.css); a tab's
#: icon sits on the browser's own chrome, not on the page, so one set serves both themes.
ICON_COLOURS = {
    "OK": "#1a7f37",
    "RUNNING": "#0969da",
    "OVERLAPPING": "#0550ae",
    "NEW": "#6e7781",
    "LATE": "#9a6700",
    "MISSED": "#bc4c00",
    "FAILING": "#cf222e",
    "OVERRUNNING": "#8250df",
    "STALE": "#57606a",
    "SUSPECT": "#bf3989",
}
#: A page that knows no health (forbidden, unavailable): the neutral grey.
NEUTRAL = "#6e7781"


def icon_url(health: str | None) -> str:
    """Return an SVG favicon as a ``data:`` URL: a filled circle in the health's colour.

    Inline, so the browser asks for no ``/favicon.ico`` (a 404 on most sites running us).
    """
    colour = ICON_COLOURS.get(health or "", NEUTRAL)
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
        f"<circle cx='8' cy='8' r='7' fill='{colour}'/></svg>"
    )
    return "data:image/svg+xml," + quote(svg, safe="")


@register.simple_tag(takes_context=True)
def tab_icon(context: template.Context) -> str:
    """Return the favicon's URL for the page's health: the overview's worst (``worst_health``),
    a command page's own (``data.health``), neutral on a page without one."""
    health = context.get("worst_health")
    data = context.get("data")
    if not health and isinstance(data, dict):
        health = data.get("health")
    return icon_url(health)


@register.simple_tag
def favicon_urls() -> SafeString:
    """Return every health's favicon URL as JSON, for ``live.js`` to follow the worst health
    without knowing the colours itself; escaped here for a double-quoted attribute."""
    from ..healths import Health

    text = json.dumps({h.value: icon_url(h.value) for h in Health})
    return mark_safe(text.replace("&", "&amp;").replace('"', "&quot;"))  # attribute-escaped
