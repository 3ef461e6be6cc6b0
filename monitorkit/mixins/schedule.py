"""When a command should run and how long it may take (read by ``monitor_watch``).

The declaration is data only: nothing here runs during the command. ``monitorkit.health.schedules``
reads these attributes from the class of every management command of the project, without
running it, and ``MONITORKIT_SCHEDULES`` may override any of them per command id.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from .base import MonitorMixin

Seconds = int | float | dt.timedelta


class ScheduleMixin(MonitorMixin):
    """Declare the command's expected schedule, margins and alert policy as class attributes.

    Every attribute left ``None`` is not declared (the setting's value or the default applies).
    """

    monitor_schedule: ClassVar[str | Seconds | None] = None
    """A cron expression (``"0 3 * * *"``, ``"@daily"``) or the seconds between two starts."""
    monitor_timezone: ClassVar[str | None] = None
    """The IANA time zone the cron expression is read in; Django's ``TIME_ZONE`` by default."""
    monitor_start_margin: ClassVar[Seconds | None] = None
    """How late a start may be before the run counts as missed (5 minutes by default)."""
    monitor_max_runtime: ClassVar[Seconds | None] = None
    """How long a run may take before it counts as overrunning (no limit by default)."""
    monitor_alert_after: ClassVar[int | None] = None
    """Alert after this many failed runs in a row (1 by default)."""
    monitor_notify_recovery: ClassVar[bool | None] = None
    """Tell the people alerted of a problem when the command recovers (on by default)."""
    monitor_muted: ClassVar[bool | None] = None
    """Keep judging the command's health, but send no alert about it."""
    monitor_channels: ClassVar[list[str] | None] = None
    """The channels (keys of ``MONITORKIT_ALERTS``) its alerts go to; every channel by default."""
    monitor_owner: ClassVar[str | None] = None
    """Who answers for it (a person or a team): said in every alert about it."""
    monitor_runbook: ClassVar[str | None] = None
    """What to do when it fails (text or a URL): said in every alert about it."""
    monitor_realert_every: ClassVar[Seconds | None] = None
    """Tell the channels again this often while a problem lasts (never by default)."""
    monitor_escalate_after: ClassVar[Seconds | None] = None
    """Once a problem has lasted this long, tell ``monitor_escalate_to`` too, once."""
    monitor_escalate_to: ClassVar[list[str] | None] = None
    """The channels an escalation goes to, besides the command's own."""
