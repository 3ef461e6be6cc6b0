"""How monitorkit says times and ages to a person: one place for alerts, records, the page and
the CLI.

A stored timestamp keeps microseconds for machines (``2026-12-06T17:19:00.000000Z``); what a
person reads says the second and the zone (``2026-12-06 17:19:00 UTC``). This module imports
nothing of monitorkit's: the page's views, imported with the URLconf before every command, use
it too.
"""

from __future__ import annotations

import datetime as dt


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
