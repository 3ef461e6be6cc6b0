"""``manage.py monitor_status``: every command's health, last run and next run, or one's history.

When no watcher runs (``watcher_health.py``), a line that starts with ``WARNING:`` says so,
after the summary's table (on stderr beside ``--json``, whose items carry ``watcher_silent``
and ``watcher_last_cycle``); a command's history does not repeat it.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...conf import monitor_settings
from ...health import silence
from ...health.judge import is_stale
from ...health.overview import command_health
from ...health.schedules import Expectation, discover
from ...health.watcher import WatcherHealth, read
from ...record import RunRecord, format_timestamp, utcnow
from ...recording.spool import Spool
from ...snoozes import active_for, snoozed_json
from ...stores import Reporter, ReporterError, store_reporter
from ...words import describe_age


def printable(text: str) -> str:
    """Return ``text`` with what a terminal would act on shown escaped: ``\\x1b[2J``, not a clear.

    A message is whatever the command's exception said; escape sequences in it could clear the
    screen, retitle the terminal or hide lines. Control and format characters (bidi overrides
    too) are written as Python writes them in a ``repr``; everything else is left as it is.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Command(BaseCommand):
    help = (
        "Show every monitored command's health, last run and next expected run, "
        "or one command's history."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--command", dest="command_id", help="Show this command id's history.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many rows.")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        reporter = store_reporter()
        if reporter is None:
            raise CommandError(
                "No store to read: add 'monitorkit' to INSTALLED_APPS or set FIREBASE_MONITORING."
            )
        watcher = None
        try:
            if options["command_id"]:
                runs = reporter.command_history(options["command_id"], options["limit"])
                self.history(runs, options["json"])
            else:
                expectations = discover()
                watcher = read(reporter.health_store(), expectations, monitor_settings)
                self.overview(reporter, options["limit"], options["json"], expectations, watcher)
        except ReporterError as err:
            raise CommandError(f"Could not read runs from {reporter.describe()}: {err}") from None
        self.watcher_note(watcher, options["json"])
        self.spool_note(options["json"])

    def history(self, runs: list[RunRecord], as_json: bool) -> None:
        """Print one command id's runs, newest first."""
        if as_json:
            self.stdout.write(json.dumps([self.as_json(run) for run in runs], indent=2))
            return
        header = ("COMMAND ID", "SEQ", "STATUS", "STARTED", "DURATION", "HEARTBEAT", "MESSAGE")
        self.table(header, [self.as_row(run) for run in runs])

    def overview(
        self,
        reporter: Reporter,
        limit: int | None,
        as_json: bool,
        expectations: dict[str, Expectation],
        watcher: WatcherHealth | None,
    ) -> None:
        """Print one row per command id: its health, last run and next expected run."""
        rows = command_health(reporter, expectations, watcher)[:limit]
        now = utcnow()
        snoozes = silence.shown(reporter.health_store(), now)
        if as_json:
            data = []
            last_cycle = watcher.last if watcher is not None else None
            for command_id, run, found in rows:
                item: dict[str, Any] = {"id": command_id} if run is None else self.as_json(run)
                item["health"] = found.health.value
                item["judged_by"] = "watcher" if found.by_watcher else "reader"
                item["failures_in_row"] = found.failures_in_row
                item["running"] = found.running
                item["next_expected"] = format_timestamp(found.next_expected)
                item["recovering"] = found.recovering_dict()
                item.update(snoozed_json(active_for(snoozes, command_id, now)))
                # The list stays a list: the watcher's word is on each item (the same on all).
                item["watcher_silent"] = watcher is not None and watcher.silent
                item["watcher_last_cycle"] = (
                    format_timestamp(last_cycle.at) if last_cycle is not None else None
                )
                data.append(item)
            self.stdout.write(json.dumps(data, indent=2))
            return
        if not rows:
            self.stdout.write("No runs recorded yet.")
            return
        header = (
            "COMMAND ID",
            "HEALTH",
            "SEQ",
            "STATUS",
            "STARTED",
            "DURATION",
            "HEARTBEAT",
            "NEXT RUN",
            "FAILURES",
            "MESSAGE",
        )
        table = []
        for command_id, run, found in rows:
            cells = self.as_row(run) if run is not None else (command_id, "", "", "", "", "", "")
            nxt = format_timestamp(found.next_expected) or ""
            fails = found.failures_in_row or ""  # in a row, as the page and the alert count
            health = found.health.value
            if active_for(snoozes, command_id, now):  # as the page marks it
                health += " (snoozed)"
            table.append((cells[0], health, *cells[1:6], nxt, fails, cells[6]))
        self.table(header, table)

    def table(self, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        printed = [tuple(printable(str(cell)) for cell in row) for row in rows]
        widths = [max(len(r[i]) for r in [header, *printed]) for i in range(len(header) - 1)]
        for row in [header, *printed]:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[-1]]).rstrip())

    def watcher_note(self, watcher: WatcherHealth | None, as_json: bool) -> None:
        """Warn when no watcher runs (on stderr beside JSON, to keep it JSON)."""
        if watcher is not None and watcher.silent:
            line = f"WARNING: {watcher.message()}"
            (self.stderr if as_json else self.stdout).write(line)

    def spool_note(self, as_json: bool) -> None:
        """Say how many records wait in the spool (on stderr beside JSON, to keep it JSON)."""
        spool = Spool.for_settings(monitor_settings)
        waiting = spool.count()
        if waiting:
            line = (
                f"{waiting} record(s) wait in the spool {spool.directory} for their backend; "
                "the next monitored run or monitor_watch delivers them."
            )
            (self.stderr if as_json else self.stdout).write(line)

    def as_json(self, run: RunRecord) -> dict[str, Any]:
        data = run.as_dict()
        data["stale"] = self.is_stale(run)
        data["running"] = not run.is_finished and not data["stale"]
        return data

    def as_row(self, run: RunRecord) -> tuple[Any, ...]:
        now = utcnow()
        # The judge's word for a run that stopped beating, never its stored RUNNING.
        status = "STALE" if self.is_stale(run) else run.status.value
        duration = "" if run.duration is None else f"{run.duration:.1f}s"
        heartbeat = ""
        if not run.is_finished and run.latest is not None:
            heartbeat = describe_age((now - run.latest).total_seconds()) + " ago"
        message = (run.message or "").splitlines()[0][:80] if run.message else ""
        if run.unmet:  # a finished run that missed its expectations: why, not "finished"
            message = f"Unmet: {run.unmet}"[:80]
        if status == "STALE":  # its stored "Command running" is not true: say when it was heard
            message = f"No heartbeat since {format_timestamp(run.latest or run.started)}"
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
        return is_stale(run, utcnow(), monitor_settings.stale_after)
