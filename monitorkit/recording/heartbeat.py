"""The heartbeat thread of one run: it wakes every interval and records that the run lives.

It waits on an ``Event``, not ``sleep``: stopping it is immediate, so a run never ends later
for having a heartbeat (django-command-monitor added its whole interval to every run).
Each beat is monitorkit's work in the sense of ``monitorkit/forks.py``: a fork waits for it.

A slow store spaces the beats out: the next one waits at least ``BEAT_PACE`` times what the
last heartbeat write cost (``recording/sender.py``), never longer than a quarter of the stale
bound, so a live run is never taken for a dead one.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from .. import forks
from .sender import BEAT_PACE

if TYPE_CHECKING:
    from .run import MonitoredRun

logger = logging.getLogger("monitorkit")


class Heartbeat:
    """Call ``run.beat()`` every ``interval`` seconds until stopped."""

    def __init__(self, run: MonitoredRun, interval: float) -> None:
        self.run = run
        self.interval = interval
        self._stop = threading.Event()
        self._pid = os.getpid()
        self._thread = threading.Thread(
            target=self._loop, name=f"monitorkit-heartbeat-{run.record.id[:40]}", daemon=True
        )

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating; returns at once (the thread ends at its next wake-up, which is now).

        In a forked child there is no thread to stop, and the ``Event``'s lock may have been
        copied taken: nothing is touched.
        """
        if os.getpid() == self._pid:
            self._stop.set()

    def pause(self) -> float:
        """Seconds until the next beat: the interval, or longer while heartbeat writes are slow."""
        paced = BEAT_PACE * self.run.beat_cost()
        if paced <= self.interval:
            return self.interval
        return max(self.interval, min(paced, self.run.settings.stale_after / 4))

    def _loop(self) -> None:
        while not self._stop.wait(self.pause()):
            try:
                with forks.busy():
                    self.run.beat()
            except Exception:
                logger.exception("monitorkit heartbeat of %r failed", self.run.record.id)
