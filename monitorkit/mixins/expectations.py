"""What a finished run of the command is expected to be: its duration's bounds and a check.

Declared as class attributes (or ``MONITORKIT_SCHEDULES[id]``, key by key over them) and handed
to the run as it starts; the run's sender judges the finished record against them just before
writing it (``monitorkit/expectations.py``). The attributes are read directly here, and the
setting's entry is looked up in the dict: a command that declares none of them imports
nothing more (neither ``expectations.py`` nor the schedules and their ``cronsim``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, ClassVar

from ..recording.run import MonitoredRun
from .base import MonitorMixin, declared_in_schedules

logger = logging.getLogger("monitorkit")

Seconds = int | float | dt.timedelta
#: The keys read here: ``expectations.OUTCOME_KEYS`` (a test holds them equal), written out so
#: that a command declaring none of them never imports that module.
KEYS = ("min_duration", "max_duration", "check", "outliers")


class OutcomeExpectationMixin(MonitorMixin):
    """Declare what a finished run is expected to be; a run that is not is stored ``unmet``.

    Every attribute left ``None`` is not declared (the setting's value applies, if any).
    """

    monitor_min_duration: ClassVar[Seconds | None] = None
    """A run that finishes sooner than this did not do its work (``SUSPECT``)."""
    monitor_max_duration: ClassVar[Seconds | None] = None
    """A run that finishes later than this took too long (``SUSPECT``). Unlike
    ``monitor_max_runtime``, judged once the run has finished."""
    monitor_check: ClassVar[Any] = None
    """A function given the finished run's record (``True``: met; ``False`` or a reason:
    unmet), or conditions on its metadata such as ``"rows > 0"``. Read from the class: a
    function assigned here is called with the record alone (as a ``staticmethod``)."""

    monitor_outliers: ClassVar[Any] = None
    """``"fast"``, ``"slow"`` or both (``True``, or a list): a finished run the status page
    flags so (faster than p50 x ``MONITORKIT_FAST_FRACTION``, slower than p95 x
    ``MONITORKIT_SLOW_FACTOR``, from 5 finished runs on) is unmet too. Costs the run one read
    of its command's kept outcomes, on the sender's thread, as it ends."""

    def get_monitor_outcome_values(self) -> dict[str, Any]:
        """Return the declared outcome keys: the class's, then the setting's entry over them."""
        cls = type(self)
        declared = {
            "min_duration": cls.monitor_min_duration,
            "max_duration": cls.monitor_max_duration,
            "check": cls.monitor_check,
            "outliers": cls.monitor_outliers,
        }
        return {key: value for key, value in declared.items() if value is not None}

    def monitor_run_started(self, run: MonitoredRun) -> None:
        """Hand the run its outcome expectation, if any is declared for its command id."""
        super().monitor_run_started(run)
        try:
            values = self.get_monitor_outcome_values()
            values.update(declared_in_schedules(run.record.id, KEYS))
            if not values:
                return
            from ..expectations import OutcomeExpectation

            run.expectation = OutcomeExpectation.from_values(values)
        except Exception:
            logger.exception("monitorkit could not read the expectations of %s", run.record.id)
