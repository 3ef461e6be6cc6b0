"""Whether this process expects a watcher, read without importing a command or the schedules.

A monitored command asks this at its start (on its sender's thread, ``WatcherLook``) before it
imports anything of the watcher's health: a project with no schedule and no alerts needs no
watcher, so its commands import nothing more and read nothing. Kept apart from
``watcher.py``, whose dataclasses and the stores' health modules it brings cost every such
process its import (about 10 ms with bytecode cached, more without).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

#: The module of ``monitorkit.monitor``'s declarations, looked up, never imported, by a command.
SCHEDULES_MODULE = "monitorkit.health.schedules"


def alerts_configured() -> bool:
    """Return whether ``MONITORKIT_ALERTS`` names any channel (read, never imported)."""
    from ..conf import ALERTS

    return bool(ALERTS.value())


def declared_cheaply() -> bool:
    """Return whether a schedule is declared where it costs no import to look: the setting,
    and the ``monitorkit.monitor`` declarations of modules this process imported already."""
    from ..conf import SCHEDULES

    entries = SCHEDULES.value()
    if any(
        isinstance(values, Mapping) and values.get("schedule") is not None
        for values in entries.values()
    ):
        return True
    schedules = sys.modules.get(SCHEDULES_MODULE)
    declared = getattr(schedules, "_declarations", {})
    return any(values.get("schedule") is not None for values, _ in declared.values())


def watcher_expected_here(scheduled_here: bool) -> bool:
    """Return whether a command's process should look at the watcher: its own class declares a
    schedule (``scheduled_here``), a schedule is declared cheaply, or alerts are configured."""
    return scheduled_here or declared_cheaply() or alerts_configured()
