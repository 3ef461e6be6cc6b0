"""``MonitoredCommand``: the ready-made class, and the one-line switch for users."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from .mixins import (
    CommandOptionsMixin,
    ConcurrencyMixin,
    DatabaseReporterMixin,
    FailureCaptureMixin,
    FirebaseReporterMixin,
    HeartbeatMixin,
    KillSignalMixin,
    NameNormalizationMixin,
    OutcomeExpectationMixin,
    OutputTailMixin,
    ProgressMixin,
    ScheduleMixin,
)


class MonitoredCommandMixin(
    CommandOptionsMixin,
    NameNormalizationMixin,
    KillSignalMixin,
    HeartbeatMixin,
    OutputTailMixin,
    FailureCaptureMixin,
    ProgressMixin,
    ScheduleMixin,
    OutcomeExpectationMixin,
    ConcurrencyMixin,
    FirebaseReporterMixin,
    DatabaseReporterMixin,
):
    """Everything ``MonitoredCommand`` adds to ``BaseCommand``, without ``BaseCommand``.

    Put in front of a command class you cannot change (``MONITORKIT_AUTO`` does this), it
    monitors that class's own ``handle`` and ``execute``: with ``BaseCommand`` among its bases,
    its ``handle`` would hide the command's.
    """


class MonitoredCommand(MonitoredCommandMixin, BaseCommand):
    """A ``BaseCommand`` whose every run is recorded: replace ``BaseCommand`` with this."""
