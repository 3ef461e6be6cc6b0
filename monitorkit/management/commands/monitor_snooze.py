"""``manage.py monitor_snooze``: hold the alerts of some command ids for a while, list, end.

``monitor_snooze import_orders --for 2h --reason "supplier migration"`` (or ``--until
2026-12-24T08:00``; a time without a zone is in ``TIME_ZONE``) stores a snooze of that id, or
of every id an ``fnmatch`` pattern matches (``"import_*"``), recorded with the OS user who ran
it. The watcher keeps judging their health and holds their alerts; when the snooze ends, it
sends one summary per command id (``monitorkit/health/silence.py``). ``--list`` shows the
snoozes kept and the maintenance windows declared; ``<id|pattern> --end`` ends the running
snoozes of that pattern (or that snooze id) now.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...record import utcnow
from ...snoozes import Snooze, new_snooze, parse_duration
from ...stores import ReporterError, store_reporter
from ...stores.health_store import HealthStore
from ...words import human_time


def os_user() -> str:
    """Return who runs this process, as the OS knows them (``unknown`` when it cannot say)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container's uid without a passwd entry)
        return "unknown"


def parse_until(text: str, now: dt.datetime) -> dt.datetime:
    """Return an ISO time as aware UTC (``TIME_ZONE`` when it names no zone), after ``now``."""
    from django.utils import timezone

    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--until {text!r} is not an ISO time like 2026-12-24T08:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.get_default_timezone())
    when = when.astimezone(dt.timezone.utc)
    if when <= now:
        raise CommandError(f"--until {text!r} is not in the future")
    return when


def state_of(snooze: Snooze, now: dt.datetime) -> str:
    """Return where a snooze is: ``coming``, ``running``, ``ended`` or ``summarised``."""
    if snooze.closed is not None:
        return "summarised"
    if snooze.ended(now):
        return "ended"
    return "running" if snooze.active(now) else "coming"


class Command(BaseCommand):
    help = "Snooze the alerts of a command id or pattern, list the snoozes, or end one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target",
            nargs="?",
            help="A command id, an fnmatch pattern, or (with --end) a snooze id.",
        )
        length = parser.add_mutually_exclusive_group()
        length.add_argument("--for", dest="duration", help="How long: 30m, 2h, 1d or seconds.")
        length.add_argument("--until", help="Until when: an ISO time (TIME_ZONE without zone).")
        parser.add_argument("--reason", default="", help="Why: shown on the page and in alerts.")
        parser.add_argument("--list", action="store_true", help="Show the snoozes and windows.")
        parser.add_argument("--end", action="store_true", help="End the running snoozes now.")

    def handle(self, *args: Any, **options: Any) -> None:
        reporter = store_reporter()
        store = reporter.health_store() if reporter is not None else None
        if reporter is None or store is None:
            raise CommandError(
                "No store to keep snoozes in: add 'monitorkit' to INSTALLED_APPS or set "
                "FIREBASE_MONITORING."
            )
        now = utcnow()
        target = options["target"]
        try:
            if options["list"]:
                self.show(store, now)
            elif not target:
                raise CommandError("Name a command id or pattern (or use --list).")
            elif options["end"]:
                self.end(store, target, now)
            else:
                self.snooze(store, target, options, now)
        except ReporterError as err:
            raise CommandError(f"{reporter.describe()} could not be used: {err}") from None

    def snooze(
        self, store: HealthStore, target: str, options: dict[str, Any], now: dt.datetime
    ) -> None:
        """Store a snooze of ``target`` from now for ``--for`` or until ``--until``."""
        if options["until"]:
            until = parse_until(options["until"], now)
        elif options["duration"]:
            try:
                until = now + parse_duration(options["duration"])
            except ValueError as err:
                raise CommandError(f"--for: {err}") from None
        else:
            raise CommandError("Say how long: --for 2h, or --until 2026-12-24T08:00.")
        snooze = new_snooze(target, options["reason"], os_user(), now, until)
        store.add_snooze(snooze)
        self.stdout.write(
            f"snoozed {target} until {human_time(until)} (snooze {snooze.id}, by {snooze.who})"
        )

    def end(self, store: HealthStore, target: str, now: dt.datetime) -> None:
        """End now every running or coming snooze whose pattern (or id) is ``target``."""
        ending = [
            s
            for s in store.snoozes()
            if (s.pattern == target or s.id == target) and not s.ended(now)
        ]
        if not ending:
            raise CommandError(f"No running snooze of {target!r} (see --list).")
        for snooze in ending:
            store.end_snooze(snooze.id, now)
            self.stdout.write(f"ended snooze {snooze.id} of {snooze.pattern}")

    def show(self, store: HealthStore, now: dt.datetime) -> None:
        """Print the kept snoozes, then the maintenance windows declared."""
        from ...health import maintenance

        snoozes = store.snoozes()
        if not snoozes:
            self.stdout.write("No snooze is kept.")
        for s in snoozes:
            reason = f"  {s.reason}" if s.reason else ""
            self.stdout.write(
                f"{s.id}  {s.pattern}  {state_of(s, now)}  {human_time(s.start)} -> "
                f"{human_time(s.until)}  by {s.who or 'unknown'}{reason}"
            )
        for window in maintenance.windows():
            zone = f" ({window.timezone})" if window.timezone else ""
            self.stdout.write(
                f"window {window.match}  cron {window.cron}{zone} for "
                f"{window.duration.total_seconds():g} s  {window.reason}".rstrip()
            )
