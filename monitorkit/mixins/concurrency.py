"""How many runs of the command may be alive at once: a lease before ``handle``, or nothing.

Declared as class attributes (or ``MONITORKIT_SCHEDULES[id]``, key by key over them). With the
default, ``"allow"``, nothing happens on the command's path: the attributes are read and the
setting's entry looked up in the dict, nothing is imported and nothing is asked of the store.
With a limit, the run asks its store for a lease (``MonitoredRun.admit``: one round trip)
before its first record; a refused start is stored ``SKIPPED`` and ``handle`` is never called
(``monitorkit/concurrency.py`` says what the process does then).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from ..record import Outcome
from ..recording.run import MonitoredRun
from .base import MonitorMixin, declared_in_schedules

logger = logging.getLogger("monitorkit")

#: The keys read here (``health.schedules.KEYS`` has them too, with their rules).
KEYS = ("concurrency", "when_refused")


class ConcurrencyMixin(MonitorMixin):
    """Refuse a start while the command's limit of live runs is reached.

    Every attribute left ``None`` is not declared (the setting's value or the default applies).
    """

    monitor_concurrency: ClassVar[str | int | None] = None
    """``"allow"`` (the default: any number at once), ``"forbid"`` (one at a time) or ``N``."""
    monitor_when_refused: ClassVar[str | None] = None
    """What a refused start does: ``"skip"`` (the default: exit 0) or ``"fail"`` (exit 75 and a
    line on stderr). Either way ``handle`` is not called and the run is stored ``SKIPPED``."""

    def get_monitor_concurrency_values(self) -> dict[str, Any]:
        """Return the declared keys: the class's, then the setting's entry over them."""
        cls = type(self)
        declared = {
            "concurrency": cls.monitor_concurrency,
            "when_refused": cls.monitor_when_refused,
        }
        return {key: value for key, value in declared.items() if value is not None}

    def monitor_admission(self, run: MonitoredRun) -> Outcome | None:
        """Take a lease when the command declares a limit; return the refusal's outcome."""
        try:
            values = self.get_monitor_concurrency_values()
            values.update(declared_in_schedules(run.record.id, KEYS))
            if values.get("concurrency") in (None, "allow"):
                return super().monitor_admission(run)
            from ..concurrency import parse_concurrency, parse_when_refused, refusal_outcome

            limit = parse_concurrency(values["concurrency"])
            when = parse_when_refused(values.get("when_refused"))
        except ValueError as err:  # ``manage.py check`` says so too (monitorkit.W170, W171)
            logger.warning(
                "monitorkit: the concurrency of %r %s; it runs without a limit", run.record.id, err
            )
            return super().monitor_admission(run)
        if limit is None:
            return super().monitor_admission(run)
        answer = run.admit(limit)
        if answer is None or answer.granted:
            return super().monitor_admission(run)
        return refusal_outcome(run.record.id, limit, answer.holders, when)
