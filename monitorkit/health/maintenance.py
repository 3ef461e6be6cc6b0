"""Recurring maintenance windows (``MONITORKIT_MAINTENANCE``): each occurrence is a snooze.

A window is a ``match`` pattern of command ids, a ``cron`` expression of when it starts (read
by ``cronsim`` in its ``timezone``, as schedules are), a ``duration`` in seconds and a
``reason``. The watcher stores the occurrence under way as a snooze (``snoozes.py``) whose id
is derived from the window and that start, so every watcher stores the same one once, and from
there it is a snooze like any other: ``monitor_snooze --list`` and the page show it, and its
end brings the summaries. A bad entry never stops anything: it is left out and :func:`problems`
words it for ``manage.py check`` (ids ``monitorkit.W302`` to ``W305``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cronsim import CronSim

from ..conf import MAINTENANCE, Problem, show
from ..snoozes import LONGEST, Snooze
from .schedules import parse_schedule, parse_timezone

#: Who a window's snooze says set it.
WHO = "MONITORKIT_MAINTENANCE"
KEYS = ("match", "cron", "duration", "timezone", "reason")
_ENTRY_HINT = (
    'Give each window as {"match": "import_*", "cron": "0 2 * * 0", "duration": 7200}, '
    'optionally with "timezone" and "reason".'
)


@dataclass(frozen=True)
class Window:
    """One maintenance window, as declared (its rules applied)."""

    match: str
    cron: str
    duration: dt.timedelta
    timezone: str | None
    reason: str

    def occurrence(self, now: dt.datetime, zone: str) -> Snooze | None:
        """Return the occurrence under way at ``now`` as a snooze (``None``: none is)."""
        from zoneinfo import ZoneInfo

        since = (now - self.duration).astimezone(ZoneInfo(self.timezone or zone))
        try:
            start = next(CronSim(self.cron, since)).astimezone(dt.timezone.utc)
        except StopIteration:
            return None
        if not start <= now < start + self.duration:
            return None
        return Snooze(
            self.snooze_id(start),
            self.match,
            self.reason or "maintenance window",
            WHO,
            start,
            start + self.duration,
        )

    def snooze_id(self, start: dt.datetime) -> str:
        """Return the id of the occurrence starting at ``start``: the window and the start."""
        key = f"{self.match}|{self.cron}|{self.duration.total_seconds()}|{self.timezone}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return f"maintenance-{digest}-{start.strftime('%Y%m%dT%H%M%SZ')}"


def _window(index: int, entry: Any) -> tuple[Window | None, list[Problem]]:
    """Return the window an entry declares (``None``: unusable) and what is wrong with it."""
    where = f"{MAINTENANCE.name}[{index}]"
    if not isinstance(entry, Mapping):
        msg = f"{where} must be a dict, not {show(entry)}."
        return None, [Problem("monitorkit.W302", msg, _ENTRY_HINT)]
    found: list[Problem] = []
    unknown = sorted(str(key) for key in entry if key not in KEYS)
    if unknown:
        msg = f"{where} has keys monitorkit does not know: {', '.join(unknown)}."
        found.append(Problem("monitorkit.W302", msg, f"The keys are: {', '.join(KEYS)}."))
    match, reason = entry.get("match"), entry.get("reason", "")
    if not isinstance(match, str) or not match:
        msg = f"{where} needs 'match', a command id or pattern, not {show(match)}."
        found.append(Problem("monitorkit.W302", msg, _ENTRY_HINT))
    if not isinstance(reason, str):
        msg = f"{where}: 'reason' must be text, not {show(reason)}."
        found.append(Problem("monitorkit.W302", msg, _ENTRY_HINT))
    cron = _judged(where, "cron", entry.get("cron"), _cron, "monitorkit.W303", found)
    duration = _judged(
        where, "duration", entry.get("duration"), _duration, "monitorkit.W304", found
    )
    zone = _judged(
        where, "timezone", entry.get("timezone"), parse_timezone, "monitorkit.W305", found
    )
    if found or not isinstance(match, str):
        return None, found
    return Window(match, cron, duration, zone, reason), []


_HINTS = {
    "monitorkit.W303": "Use five cron fields, e.g. '0 2 * * 0' (Sundays at 02:00).",
    "monitorkit.W304": "Use a number of seconds above 0, at most a year, e.g. 7200.",
    "monitorkit.W305": "Use an IANA name such as 'Europe/Paris'; leave it out to use TIME_ZONE.",
}


def _judged(
    where: str, key: str, value: Any, rule: Any, check_id: str, found: list[Problem]
) -> Any:
    try:
        return rule(value)
    except ValueError as err:
        found.append(Problem(check_id, f"{where}: {key} {err}.", _HINTS[check_id]))
        return None


def _cron(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a cron expression, not {show(value)}")
    expr = parse_schedule(value)
    assert isinstance(expr, str)
    return expr


def _duration(value: Any) -> dt.timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number of seconds, not {show(value)}")
    if not 0 < value <= LONGEST.total_seconds():
        raise ValueError(f"must be above 0 and at most a year, not {show(value)}")
    return dt.timedelta(seconds=value)


def _collect() -> tuple[list[Window], list[Problem]]:
    problem = MAINTENANCE.problem()
    found = [problem] if problem is not None else []
    windows = []
    for index, entry in enumerate(MAINTENANCE.value()):
        window, wrong = _window(index, entry)
        found += wrong
        if window is not None:
            windows.append(window)
    return windows, found


def windows() -> list[Window]:
    """Return the usable windows of ``MONITORKIT_MAINTENANCE`` (bad entries left out)."""
    return _collect()[0]


def problems() -> list[Problem]:
    """Return what is wrong with ``MONITORKIT_MAINTENANCE``, for ``manage.py check``."""
    return _collect()[1]


def occurrences(now: dt.datetime) -> list[Snooze]:
    """Return the windows under way at ``now``, each as the snooze of its occurrence."""
    from django.conf import settings

    zone = getattr(settings, "TIME_ZONE", None) or "UTC"
    found = [window.occurrence(now, zone) for window in windows()]
    return [snooze for snooze in found if snooze is not None]
