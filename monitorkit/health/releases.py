"""Since which release a command fails: what an alert of a failing command says of releases.

"First failure since release X; last success on release Y": X is the release of the oldest
run of the failures in a row (as the judge counts them, ``judge.failures_in_row``), Y that of
the newest run that finished before them. Read from the command's kept runs, whole, by the
watcher when it stores a transition to ``FAILING`` (``watch.py``), once per such transition,
since the judge's own window holds the older runs without their release. A last success that
retention has deleted is not known: its time is in the health row, its release is not (the
alert then names none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..record import RunRecord
from ..release import release_name
from .judge import FAILED

FINISHED = "FINISHED"


class FailureReleases(NamedTuple):
    """The releases of the first failure in a row and of the last success before it."""

    first_failure: str | None
    last_success: str | None


def failure_releases(runs: Sequence[RunRecord]) -> FailureReleases:
    """Return the releases of the first of the failures in a row and of the last success.

    ``runs``: whole records of one command id, newest first. Unfinished runs and ``MISSED``
    records are skipped, as the judge skips them when it counts failures in a row.
    """
    first_failure: str | None = None
    for run in runs:
        status = str(run.status.value)
        if status in FAILED:
            first_failure = release_name(run.release)  # older each time: the first one wins
        elif status == FINISHED:
            return FailureReleases(first_failure, release_name(run.release))
    return FailureReleases(first_failure, None)
