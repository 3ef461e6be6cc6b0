"""Reporter mixins: each adds its backend's reporter to a run when that backend is configured."""

from __future__ import annotations

from ..stores.base import Reporter
from .base import MonitorMixin


class DatabaseReporterMixin(MonitorMixin):
    """Store runs in the project's own database (the default when Firebase is not configured)."""

    def get_monitor_reporters(self) -> list[Reporter]:
        """Add a ``DatabaseReporter`` when the embedded store is on."""
        reporters = super().get_monitor_reporters()
        if self.monitor_settings.database:
            from ..stores.database.runs import DatabaseReporter

            reporters.append(DatabaseReporter(self.monitor_settings))
        return reporters


class FirebaseReporterMixin(MonitorMixin):
    """Send runs to the Firebase Realtime Database named by ``FIREBASE_MONITORING``."""

    def get_monitor_reporters(self) -> list[Reporter]:
        """Add a ``FirebaseReporter`` when ``FIREBASE_MONITORING`` is set."""
        reporters = super().get_monitor_reporters()
        if self.monitor_settings.firebase is not None:
            from ..stores.firebase.runs import FirebaseReporter

            reporters.append(FirebaseReporter(self.monitor_settings))
        return reporters
