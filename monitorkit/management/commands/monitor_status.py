"""``manage.py monitor_status``: what every monitored command did last, or one's history."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...conf import monitor_settings
from ...record import RunRecord, format_timestamp, is_stale, utcnow
from ...reporters import ReporterError, store_reporter


def describe_age(seconds: float) -> str:
    """Return an age a person reads at a glance: ``42s``, ``3m 05s``, ``2h 10m``, ``3d 4h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


class Command(BaseCommand):
    help = "Show the last run of every monitored command, or one command's history."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--command", dest="command_id", help="Show this command id's history.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many runs.")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        reporter = store_reporter()
        if reporter is None:
            raise CommandError(
                "No store to read: add 'monitorkit' to INSTALLED_APPS or set FIREBASE_MONITORING."
            )
        try:
            if options["command_id"]:
                runs = reporter.command_history(options["command_id"], options["limit"])
            else:
                runs = reporter.latest_runs()[: options["limit"]]
        except ReporterError as err:
            raise CommandError(f"Could not read runs from {reporter.describe()}: {err}") from None
        if options["json"]:
            self.stdout.write(json.dumps([self.as_json(run) for run in runs], indent=2))
            return
        if not runs:
            self.stdout.write("No runs recorded yet.")
            return
        rows = [self.as_row(run) for run in runs]
        header = ("COMMAND ID", "SEQ", "STATUS", "STARTED", "DURATION", "HEARTBEAT", "MESSAGE")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, str(row[-1])]).rstrip())

    def as_json(self, run: RunRecord) -> dict[str, Any]:
        data = run.as_dict()
        data["stale"] = self.is_stale(run)
        return data

    def as_row(self, run: RunRecord) -> tuple[Any, ...]:
        now = utcnow()
        status = run.status.value + (" (stale)" if self.is_stale(run) else "")
        duration = "" if run.duration is None else f"{run.duration:.1f}s"
        heartbeat = ""
        if not run.is_finished and run.latest is not None:
            heartbeat = describe_age((now - run.latest).total_seconds()) + " ago"
        message = (run.message or "").splitlines()[0][:80] if run.message else ""
        return (
            run.id,
            run.seq or "",
            status,
            format_timestamp(run.started),
            duration,
            heartbeat,
            message,
        )

    @staticmethod
    def is_stale(run: RunRecord) -> bool:
        return is_stale(run.status, run.latest, utcnow(), monitor_settings.stale_after)
