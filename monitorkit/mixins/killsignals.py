"""``SYSTEM_KILL`` when SIGTERM, SIGINT or SIGHUP ends the run (``recording/killsignals.py``)."""

from __future__ import annotations

from typing import ClassVar

from ..recording.killsignals import KILL_SIGNALS, KillSignalTrap
from ..recording.run import MonitoredRun
from .base import MonitorMixin


class KillSignalMixin(MonitorMixin):
    """Record a run ended by a signal before the process goes, then let the signal act."""

    monitor_kill_signals: ClassVar[tuple[int, ...]] = KILL_SIGNALS
    """The signals that mean "the system is ending this process"."""
    _monitor_signal_trap: KillSignalTrap | None = None

    def monitor_run_started(self, run: MonitoredRun) -> None:
        """Stand our handlers in front of SIGTERM, SIGINT and SIGHUP (main thread only)."""
        super().monitor_run_started(run)
        trap = KillSignalTrap(run, self.monitor_kill_signals)
        if trap.install():
            self._monitor_signal_trap = trap

    def monitor_run_closed(self, run: MonitoredRun) -> None:
        """Put back the handlers that were there before the run, once its last flush is over.

        Not earlier: a signal during the final flush must still find the record delivered or
        spooled before the process goes.
        """
        if self._monitor_signal_trap is not None:
            self._monitor_signal_trap.uninstall()
            self._monitor_signal_trap = None
        super().monitor_run_closed(run)
