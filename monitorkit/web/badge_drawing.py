"""A badge drawn: SVG text in shields.io's flat style, or shields.io's endpoint JSON.

The SVG is written by hand (two rectangles, two texts, a title), no dependency: every value in
it goes through :func:`xml_text`, so a command id such as ``a<b&"c"`` is text, never markup.
Widths are estimated from Verdana's at 11 px, the font shields.io measures with; a viewer
without it falls back to another sans-serif, a little narrower or wider. The JSON is the schema
of shields.io's endpoint badge (``https://img.shields.io/endpoint?url=...``).
"""

from __future__ import annotations

import re
from typing import Any

from .badge import Badge

#: The most characters of a label or message drawn; a longer one ends with an ellipsis.
MAX_TEXT = 60
#: Pixels either side of each text.
PADDING = 6
HEIGHT = 20
#: Characters XML 1.0 does not allow at all: not even escaped. Drawn as U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
#: Verdana's advance widths at 11 px, roughly: the narrow and wide characters, else by case.
_NARROW = dict.fromkeys("il.,:;!|'`", 3.1) | dict.fromkeys("fjrtI()[]{}/\\ -", 4.3)
_WIDE = dict.fromkeys("mwMW@%", 10.0)


def xml_text(text: str) -> str:
    """Return ``text`` safe in an SVG's text and attributes: escaped, no forbidden characters."""
    text = _NOT_XML.sub("\ufffd", text)
    return "".join(_ESCAPES.get(c, c) for c in text)


def shortened(text: str) -> str:
    """Return ``text`` cut to :data:`MAX_TEXT` characters, an ellipsis ending a cut one."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"


def text_width(text: str) -> float:
    """Return the estimated width of ``text`` in Verdana 11 px."""
    width = 0.0
    for c in text:
        found = _NARROW.get(c) or _WIDE.get(c)
        width += found if found else 7.5 if c.isupper() else 6.8
    return width


def svg(badge: Badge) -> str:
    """Return the badge as an SVG document in shields.io's flat style."""
    label, message = shortened(badge.label), shortened(badge.message)
    left = round(text_width(label) + 2 * PADDING)
    right = round(text_width(message) + 2 * PADDING)
    total = left + right
    title = xml_text(f"{label}: {message}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{HEIGHT}" '
        f'role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<clipPath id="r"><rect width="{total}" height="{HEIGHT}" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)">'
        f'<rect width="{left}" height="{HEIGHT}" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="{HEIGHT}" fill="{xml_text(badge.hex)}"/>'
        f"</g>"
        f'<g fill="#fff" text-anchor="middle" '
        f'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2:g}" y="14">{xml_text(label)}</text>'
        f'<text x="{left + right / 2:g}" y="14">{xml_text(message)}</text>'
        f"</g></svg>"
    )


def shields_json(badge: Badge) -> dict[str, Any]:
    """Return the badge in shields.io's endpoint schema (version 1)."""
    return {
        "schemaVersion": 1,
        "label": badge.label,
        "message": badge.message,
        "color": badge.colour,
    }
