"""The mixins that compose :class:`monitorkit.MonitoredCommand`, one concern each."""

from .base import MonitorMixin
from .concurrency import ConcurrencyMixin
from .expectations import OutcomeExpectationMixin
from .failure import FailureCaptureMixin
from .heartbeat import HeartbeatMixin
from .killsignals import KillSignalMixin
from .naming import NameNormalizationMixin
from .options import CommandOptionsMixin
from .output import OutputTailMixin
from .progress import ProgressMixin
from .reporting import DatabaseReporterMixin, FirebaseReporterMixin
from .schedule import ScheduleMixin

__all__ = [
    "CommandOptionsMixin",
    "ConcurrencyMixin",
    "DatabaseReporterMixin",
    "FailureCaptureMixin",
    "FirebaseReporterMixin",
    "HeartbeatMixin",
    "KillSignalMixin",
    "MonitorMixin",
    "NameNormalizationMixin",
    "OutcomeExpectationMixin",
    "OutputTailMixin",
    "ProgressMixin",
    "ScheduleMixin",
]
