"""How many runs of one command id may be alive at once, and what a refused start does.

``monitor_concurrency`` (class attribute, ``MONITORKIT_SCHEDULES[id]["concurrency"]``,
``monitorkit.monitor(..., concurrency=...)``) is ``"allow"`` (the default: any number, nothing is
checked, the command's start costs nothing more), ``"forbid"`` (one at a time) or a whole number
``N``. Under a limit, a run asks the store for a lease before ``handle`` (one store round trip,
``Reporter.take_lease``); the leases are the live runs themselves, so a holder killed without a
trace lets go once the judge's staleness rule (``staleness.is_stale``) calls its run stale.

``monitor_when_refused`` says what a refused start does: ``"skip"`` (the default) returns at
once and the process exits 0; ``"fail"`` ends it with :data:`REFUSED_EXIT_CODE` and one line on
stderr (:class:`RunRefused`, a ``CommandError``). Either way ``handle`` never runs and the run
is stored ``SKIPPED``, its message naming the holders' run ids.

Imported only by a run whose command declares a limit, and by the schedules' checks.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.management.base import CommandError

from .record import Outcome, Status

#: ``EX_TEMPFAIL`` of ``sysexits.h``: "a temporary failure; the user is invited to retry".
REFUSED_EXIT_CODE = 75

ALLOW = "allow"
FORBID = "forbid"
#: The largest ``N``: a lease reads every live holder, and more than this is no limit at all.
MAX_LIMIT = 1000


class WhenRefused(str, enum.Enum):
    """What a start refused by the concurrency policy does (it never runs ``handle``)."""

    SKIP = "skip"
    """Return at once: the process exits 0, nothing is printed."""
    FAIL = "fail"
    """Raise :class:`RunRefused`: exit code 75 and one line on stderr."""

    def __str__(self) -> str:
        return self.value


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


def parse_concurrency(value: Any) -> int | None:
    """Return the limit of live runs: ``None`` for ``"allow"`` (or nothing declared), 1 for
    ``"forbid"``, ``N`` for a whole number from 1 to :data:`MAX_LIMIT`."""
    if value is None or value == ALLOW:
        return None
    if value == FORBID:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ValueError(
            f"must be 'allow', 'forbid' or a whole number from 1 to {MAX_LIMIT}, not {_show(value)}"
        )
    return value


def parse_when_refused(value: Any) -> WhenRefused:
    """Return what a refused start does: ``"skip"`` (the default) or ``"fail"``."""
    if value is None:
        return WhenRefused.SKIP
    try:
        return WhenRefused(value)
    except ValueError:
        raise ValueError(f"must be 'skip' or 'fail', not {_show(value)}") from None


@dataclass(frozen=True)
class Admission:
    """A store's answer to a lease: granted, or refused with the live holders' run ids."""

    granted: bool
    holders: tuple[str, ...] = ()


class RunRefused(CommandError):
    """A start refused by the concurrency policy with ``when_refused = "fail"``.

    A ``CommandError``: ``manage.py`` prints ``RunRefused: <message>`` on stderr and exits
    :data:`REFUSED_EXIT_CODE`; ``call_command`` and a decorated function raise it to the caller.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=REFUSED_EXIT_CODE)


def refusal_message(command_id: str, limit: int, holders: Sequence[str]) -> str:
    """Return the one line that says why a start was refused (stored, and printed on fail)."""
    policy = FORBID if limit == 1 else f"at most {limit} at once"
    running = ", ".join(holders) or "unknown"
    return f"Not run: concurrency of {command_id!r} is {policy}; running: {running}"


def refusal_outcome(
    command_id: str, limit: int, holders: Sequence[str], when: WhenRefused
) -> Outcome:
    """Return the ``SKIPPED`` outcome of a refused start, its exit code as the process's."""
    code = REFUSED_EXIT_CODE if when is WhenRefused.FAIL else 0
    return Outcome(Status.SKIPPED, refusal_message(command_id, limit, holders), exit_code=code)
