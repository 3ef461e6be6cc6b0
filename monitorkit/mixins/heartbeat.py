"""A background heartbeat for each run (the thread itself is ``monitorkit/heartbeat.py``)."""

from __future__ import annotations

from typing import ClassVar

from ..heartbeat import Heartbeat
from ..run import MonitoredRun
from .base import MonitorMixin


class HeartbeatMixin(MonitorMixin):
    """Mark the run ``RUNNING`` and refresh ``latest`` every interval while it runs."""

    monitor_heartbeat_interval: ClassVar[float | None] = None
    """Seconds between heartbeats; ``FIREBASE_MONITORING_INTERVAL_PING`` when ``None``."""
    _monitor_heartbeat: Heartbeat | None = None

    def get_monitor_heartbeat_interval(self) -> float:
        """Return the seconds between two heartbeats of this command."""
        return self.monitor_heartbeat_interval or self.monitor_settings.interval

    def monitor_run_started(self, run: MonitoredRun) -> None:
        """Start the heartbeat thread of this run."""
        super().monitor_run_started(run)
        self._monitor_heartbeat = Heartbeat(run, self.get_monitor_heartbeat_interval()).start()

    def monitor_run_ending(self, run: MonitoredRun) -> None:
        """Stop the heartbeat at once (no waiting for its interval)."""
        if self._monitor_heartbeat is not None:
            self._monitor_heartbeat.stop()
            self._monitor_heartbeat = None
        super().monitor_run_ending(run)
