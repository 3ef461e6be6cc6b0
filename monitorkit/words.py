"""How monitorkit says times and ages to a person: one place for alerts, records, the page and
the CLI.

A stored timestamp keeps microseconds for machines (``2026-12-06T17:19:00.000000Z``); what a
person reads says the second and the zone (``2026-12-06 17:19:00 UTC``). This module imports
nothing of monitorkit's: the page's views, imported with the URLconf before every command, use
it too.
"""

from __future__ import annotations

import datetime as dt
import math


def human_time(value: dt.datetime | None) -> str | None:
    """Return ``value`` as a person reads it in an alert: ``2026-12-06 17:19:00 UTC``.

    Seconds, not microseconds: the structured fields keep the stored form for machines.
    """
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_age(seconds: float) -> str:
    """Return an age a person reads at a glance: ``42s``, ``3m 05s``, ``2h 10m``, ``3d 4h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def human_duration(seconds: float | None) -> str:
    """Return how long something took, the unit a person expects at its size.

    ``< 10 ms``, ``420 ms``, ``1.2 s``, ``42 s``, ``5 min``, ``3 min 5 s``, ``2 h 10 min``,
    ``3 d 4 h``: the page's durations, margins and limits. ``live.js``'s ``duration`` says the
    same, so halves round up here as there (not to even). ``""`` for ``None``.
    """
    if seconds is None:
        return ""
    if seconds < 0.01:
        return "< 10 ms"
    milliseconds = math.floor(seconds * 1000 + 0.5)
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    tenths = math.floor(seconds * 10 + 0.5)
    if tenths < 100:
        return f"{tenths // 10}.{tenths % 10} s"
    whole = math.floor(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
