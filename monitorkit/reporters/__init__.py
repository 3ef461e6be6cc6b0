"""Reporters: where runs are sent and stored. ``base.Reporter`` is the seam."""

from __future__ import annotations

from ..conf import MonitorSettings, monitor_settings
from .base import Reporter, ReporterError

__all__ = ["Reporter", "ReporterError", "store_reporter"]


def store_reporter(settings: MonitorSettings = monitor_settings) -> Reporter | None:
    """Return the reporter to read runs back from: Firebase when configured, else the database."""
    if settings.firebase is not None:
        from .firebase import FirebaseReporter

        return FirebaseReporter(settings)
    if settings.app_installed:
        from .database import DatabaseReporter

        return DatabaseReporter(settings)
    return None
