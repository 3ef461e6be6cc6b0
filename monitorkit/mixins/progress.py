"""Progress of long commands, shipped with the next heartbeat."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from ..recording.progress import track
from .base import MonitorMixin

T = TypeVar("T")


class ProgressMixin(MonitorMixin):
    """``self.monitor_progress(done, total)`` and ``self.monitor_track(items)``.

    A call stores two attributes and returns: no lock, no I/O, well under a microsecond. The
    heartbeat thread picks the values up and sends them with the next beat.
    """

    def monitor_progress(self, done: float, total: float | None = None) -> None:
        """Record that ``done`` of ``total`` units of work are done.

        Any number will do (``Decimal`` too); it is cleaned when the heartbeat takes it, not
        here, so this stays two stores. A number no store takes (NaN, an infinity) is stored as
        null, with one warning for the run, and the run beats and finishes as usual.
        """
        run = self._monitor_run
        if run is not None:
            run.progress_done = done
            run.progress_total = total

    def monitor_track(self, iterable: Iterable[T], total: int | None = None) -> Iterator[T]:
        """Yield from ``iterable``, counting each item as done once the next is asked for."""
        return track(iterable, total)
