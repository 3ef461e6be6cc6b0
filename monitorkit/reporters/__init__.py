"""Reporters: where runs are sent and stored. ``base.Reporter`` is the seam."""

from __future__ import annotations

from ..conf import MonitorSettings, monitor_settings
from .base import Reporter, ReporterError

__all__ = ["Reporter", "ReporterError", "store_reporter"]


def store_reporter(settings: MonitorSettings = monitor_settings) -> Reporter | None:
    """Return the store: what every run is written to and every reader reads.

    ``MONITORKIT_STORE`` when set (the dotted path of a ``Reporter`` class, a project's own
    store included); else Firebase when configured, else the project's database.
    """
    path = settings.store
    if path is not None:
        from django.utils.module_loading import import_string

        store: Reporter = import_string(path)(settings)
        return store
    if settings.firebase is not None:
        from .firebase import FirebaseReporter

        return FirebaseReporter(settings)
    if settings.app_installed:
        from .database import DatabaseReporter

        return DatabaseReporter(settings)
    return None
