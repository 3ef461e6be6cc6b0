"""A background heartbeat for each run (the thread: ``recording/heartbeat.py``)."""

from __future__ import annotations

import logging
from typing import ClassVar

from ..conf import INTERVAL
from ..recording.heartbeat import Heartbeat
from ..recording.run import MonitoredRun
from .base import MonitorMixin

logger = logging.getLogger("monitorkit")


class HeartbeatMixin(MonitorMixin):
    """Mark the run ``RUNNING`` and refresh ``latest`` every interval while it runs."""

    monitor_heartbeat_interval: ClassVar[float | None] = None
    """Seconds between heartbeats; ``FIREBASE_MONITORING_INTERVAL_PING`` when ``None``."""
    _monitor_heartbeat: Heartbeat | None = None

    def get_monitor_heartbeat_interval(self) -> float:
        """Return the seconds between two heartbeats of this command.

        The class's own value obeys the rule of ``FIREBASE_MONITORING_INTERVAL_PING`` (above 0,
        at most a day): anything else, ``inf`` included, is logged and the setting used.
        """
        own = self.monitor_heartbeat_interval
        if own is None:
            return self.monitor_settings.interval
        verdict = INTERVAL.rule(own)
        if verdict.value is None:
            logger.warning(
                "monitorkit: %s.monitor_heartbeat_interval %s; the setting's %g s is used",
                type(self).__name__,
                verdict.problem,
                self.monitor_settings.interval,
            )
            return self.monitor_settings.interval
        return verdict.value

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
