"""``MonitoredCommand``: the ready-made class, and the one-line switch for users."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from .mixins import (
    CommandOptionsMixin,
    DatabaseReporterMixin,
    FailureCaptureMixin,
    FirebaseReporterMixin,
    HeartbeatMixin,
    KillSignalMixin,
    NameNormalizationMixin,
    ProgressMixin,
    ScheduleMixin,
)


class MonitoredCommand(
    CommandOptionsMixin,
    NameNormalizationMixin,
    KillSignalMixin,
    HeartbeatMixin,
    FailureCaptureMixin,
    ProgressMixin,
    ScheduleMixin,
    FirebaseReporterMixin,
    DatabaseReporterMixin,
    BaseCommand,
):
    """A ``BaseCommand`` whose every run is recorded: replace ``BaseCommand`` with this."""
