"""Keep the end of what a run prints with its record (ring and tees: ``recording/output.py``)."""

from __future__ import annotations

from typing import Any

from ..naming import matches_any
from ..recording.output import Capture, OutputTail, Tee, tee_of
from ..recording.run import MonitoredRun
from .base import MonitorMixin


class OutputTailMixin(MonitorMixin):
    """Keep the last ``MONITORKIT_OUTPUT_TAIL_KB`` of the run's output for its record.

    What goes to ``sys.stdout``/``sys.stderr`` (and their ``buffer``) from the run's own
    context, and to a command's ``self.stdout``/``self.stderr``, is kept; what reaches the
    streams is unchanged. With the setting at ``0``, or for a command whose output is never
    kept (``MONITORKIT_OUTPUT_TAIL_EXCLUDE``: ``dumpdata``, ``diffsettings``...), nothing is
    touched at all.
    """

    _monitor_output_capture: Capture | None = None
    _monitor_output_swaps: tuple[tuple[Any, Any, Tee], ...] = ()

    def monitor_run_started(self, run: MonitoredRun) -> None:
        """Start keeping the output, before the heartbeat's first beat reads it."""
        super().monitor_run_started(run)
        limit = self.monitor_settings.output_tail_bytes
        if limit <= 0 or self._monitor_output_excluded(run.identity.name):
            return
        tail = OutputTail(limit)
        self._monitor_output_capture = Capture(tail)
        self._monitor_output_swaps = self._monitor_tee_wrappers()
        run.output_tail = tail

    def monitor_run_ending(self, run: MonitoredRun) -> None:
        """Put every stream back; the tail stays on the run for its final record."""
        try:
            for wrapper, original, tee in self._monitor_output_swaps:
                if wrapper._out is tee:  # the command may have replaced it: then leave it
                    wrapper._out = original
            self._monitor_output_swaps = ()
            if self._monitor_output_capture is not None:
                self._monitor_output_capture.stop()
                self._monitor_output_capture = None
        finally:
            super().monitor_run_ending(run)

    def _monitor_output_excluded(self, name: str) -> bool:
        """Return whether command ``name`` prints what no record may keep (settings, data)."""
        return matches_any(name, self.monitor_settings.output_tail_exclude)

    def _monitor_tee_wrappers(self) -> tuple[tuple[Any, Any, Tee], ...]:
        """Make a command's ``self.stdout``/``self.stderr`` write through Tees for the run.

        Django's ``OutputWrapper`` holds the stream it was made with (``sys.stdout`` as it was
        at ``__init__``, or ``call_command(stdout=...)``'s), not ``sys.stdout`` itself.
        """
        from django.core.management.base import OutputWrapper

        swaps = []
        for name in ("stdout", "stderr"):
            wrapper: Any = getattr(self, name, None)
            is_wrapper = isinstance(wrapper, OutputWrapper)  # not narrowed: _out is private
            if not is_wrapper:
                continue
            original = wrapper._out
            tee = tee_of(original)
            if tee is not original:
                wrapper._out = tee
                swaps.append((wrapper, original, tee))
        return tuple(swaps)
