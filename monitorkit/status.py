"""The statuses a run moves through: the vocabulary of every record, row and page.

Apart from ``record.py`` (which re-exports it) so that ``models.py``, imported by Django's
setup before every command of a project, needs nothing else of a run: a command that is not
monitored never builds a record.
"""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """The statuses a run moves through; the values are what is stored."""

    STARTED = "STARTED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    SYSTEM_KILL = "SYSTEM_KILL"
    MISSED = "MISSED"
    """Not a run at all: the watcher's record of an expected run that never started."""
    SKIPPED = "SKIPPED"
    """A start refused by the command's concurrency policy (``monitorkit/concurrency.py``):
    ``handle`` never ran; the message names the run(s) holding the lease."""

    def __str__(self) -> str:
        return self.value


UNFINISHED = (Status.STARTED, Status.RUNNING)
#: The statuses a run can end with (``MISSED`` stands for a start that never came): what the
#: counter of runs by outcome counts.
ENDED = tuple(status for status in Status if status not in UNFINISHED)
