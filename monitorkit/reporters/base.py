"""The reporter seam: what every backend that stores runs must do.

The sender calls the write methods, one at a time, on its own thread; ``bind``/``unbind`` are
the only calls made on the command's thread, and must be cheap. The read methods serve
``manage.py monitor_status``. A reporter retries its own writes (it knows which errors are
worth it, see ``monitorkit/retry.py``) and raises :class:`ReporterError` with a message fit
for a log line: no credential in it, ever.
"""

from __future__ import annotations

from ..conf import MonitorSettings, monitor_settings
from ..record import RunRecord
from ..retry import RetryPolicy


class ReporterError(Exception):
    """A backend refused or failed a write or a read; the message is safe to log."""


class Reporter:
    """Base class of reporters. Subclasses implement the five methods that raise."""

    def __init__(self, settings: MonitorSettings = monitor_settings) -> None:
        self.settings = settings
        self.retry_policy = RetryPolicy(attempts=settings.retry_attempts)

    # Called on the command's thread, around the run.
    def bind(self) -> None:
        """Prepare for a run that starts now (on the command's thread; keep it cheap)."""

    def unbind(self) -> None:
        """Let go of whatever ``bind`` took (on the command's thread, after the last flush)."""

    # Called on the sender's thread.
    def start_run(self, record: RunRecord) -> None:
        """Store a new run; mark earlier runs of its command that went stale as killed.

        Any of the three write methods may be the first a reporter hears of a run (the sender
        skips a start that a later event of the same run makes redundant, and a start may have
        failed): each must store a run it has not stored yet, the whole record.
        """
        raise NotImplementedError(f"{type(self).__name__} must define start_run(record).")

    def heartbeat(self, record: RunRecord) -> None:
        """Store a running run's latest heartbeat, status and progress."""
        raise NotImplementedError(f"{type(self).__name__} must define heartbeat(record).")

    def finish_run(self, record: RunRecord) -> None:
        """Store a run's outcome (even when its start could not be stored)."""
        raise NotImplementedError(f"{type(self).__name__} must define finish_run(record).")

    # The read side, for monitor_status.
    def latest_runs(self) -> list[RunRecord]:
        """Return the newest run of every command id."""
        raise NotImplementedError(f"{type(self).__name__} must define latest_runs().")

    def command_history(self, command_id: str, limit: int | None = None) -> list[RunRecord]:
        """Return the stored runs of one command id, newest first."""
        raise NotImplementedError(f"{type(self).__name__} must define command_history().")

    # For log lines.
    def describe(self) -> str:
        """Name this reporter and its backend in a log line (no credentials)."""
        return type(self).__name__

    def redact(self, text: str) -> str:
        """Return ``text`` with anything secret this reporter knows of removed."""
        return text
