"""Timestamps as the embedded store's columns hold them, for the run rows and the health rows.

Both faces of the store (``runs.py`` and ``health.py``) write and read the same kind of
column; the conversions live here so neither face reaches into the other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings as django_settings


def raw_time(value: Any) -> dt.datetime:
    """Return a raw timestamp column as an aware UTC datetime (SQLite gives Django's text)."""
    when: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:  # fromisoformat: fast, thousands of rows a poll
        return when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc)


def db_time(value: dt.datetime | None) -> dt.datetime | None:
    """Return a UTC datetime as the database wants it (naive UTC when ``USE_TZ`` is off)."""
    if value is None or django_settings.USE_TZ:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Return a stored timestamp as aware UTC (naive when ``USE_TZ`` is off: it is UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)
