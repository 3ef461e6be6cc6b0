"""Reporters: where runs are sent and stored. ``base.Reporter`` is the seam."""

from __future__ import annotations

from ..conf import DATABASE_STORE, FIREBASE_STORE, MonitorSettings, monitor_settings
from .base import Reporter, ReporterError

__all__ = [
    "Reporter",
    "ReporterError",
    "configured_reporters",
    "import_reporters",
    "store_path",
    "store_reporter",
]


def store_path(settings: MonitorSettings = monitor_settings) -> str | None:
    """Return the dotted path of the store's class (``None``: the project has no store).

    ``MONITORKIT_STORE`` when set (a project's own store included; conf normalises a moved
    path to the class's own); else Firebase when configured, else the project's database when
    monitorkit's app is installed. The one rule: the store is built from it, and the watcher
    finds the store among a run's reporters by it.
    """
    if settings.store is not None:
        return settings.store
    if settings.firebase is not None:
        return FIREBASE_STORE
    if settings.app_installed:
        return DATABASE_STORE
    return None


def store_reporter(settings: MonitorSettings = monitor_settings) -> Reporter | None:
    """Return the store: what every run is written to and every reader reads (see store_path)."""
    path = store_path(settings)
    if path is None:
        return None
    from django.utils.module_loading import import_string

    store: Reporter = import_string(path)(settings)
    return store


def configured_reporters(settings: MonitorSettings = monitor_settings) -> list[Reporter]:
    """Return every reporter the settings give a run, the store first (what the spool's drains
    may deliver to): the store, the database and Firebase when on, ``MONITORKIT_REPORTERS``.

    A class's own ``monitor_reporter_classes`` are not settings: only its runs know them.
    """
    from .base import reporter_path

    found = [store] if (store := store_reporter(settings)) is not None else []
    if settings.database:
        from .database import DatabaseReporter

        found.append(DatabaseReporter(settings))
    if settings.firebase is not None:
        from .firebase import FirebaseReporter

        found.append(FirebaseReporter(settings))
    found += import_reporters(settings.extra_reporters, settings)
    unique: dict[str, Reporter] = {}
    for reporter in found:
        unique.setdefault(reporter_path(reporter), reporter)
    return list(unique.values())


def import_reporters(paths: list[str], settings: MonitorSettings) -> list[Reporter]:
    """Return a reporter of each class named by ``paths``; one that cannot be made is logged
    and left out (a broken reporter costs only itself)."""
    import logging

    from django.utils.module_loading import import_string

    found = []
    for path in paths:
        try:
            found.append(import_string(path)(settings))
        except Exception as err:  # noqa: BLE001 - whatever it raises, the others still go
            logging.getLogger("monitorkit").error(
                "monitorkit: MONITORKIT_REPORTERS entry %r skipped: %s", path, err
            )
    return found
