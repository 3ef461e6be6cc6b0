"""``manage.py monitor_watch``: notice missed, failing, overrunning and stale commands, and alert.

``--once`` runs one cycle and exits (for cron, a systemd timer, Heroku Scheduler or a
Kubernetes CronJob); without it the command loops, one cycle every ``--interval`` seconds
(``MONITORKIT_WATCHER_INTERVAL``, 60 by default), until SIGTERM or SIGINT (for a worker
process). Several watchers may run at once: each change is stored, and alerted, once
(``monitorkit/health/watch.py``). Each cycle stores the watcher's heartbeat, with the interval of
its loop (none with ``--once``: ``MONITORKIT_WATCHER_INTERVAL`` then says how often cron runs it).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...conf import monitor_settings
from ...health.watch import CycleReport, watcher_for
from ...record import format_timestamp

logger = logging.getLogger("monitorkit")


def stopper(stop: threading.Event) -> Callable[[int, Any], None]:
    """Return the SIGTERM and SIGINT handler: the loop ends after the cycle in progress.

    It sets ``stop`` from a thread of its own. ``Event.set`` takes the event's lock, which the
    main thread, where Python runs signal handlers, may hold at that very moment (inside
    ``stop.wait``, between taking the lock and waiting on it): set in the handler, it would wait
    for a lock its own thread holds, forever. Seen: a watcher that never ended after SIGTERM.
    """

    def handler(signum: int, frame: Any) -> None:
        threading.Thread(target=stop.set, name="monitorkit-stop", daemon=True).start()

    return handler


class Command(BaseCommand):
    help = "Judge every monitored command's health, record what changed, and send alerts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run one cycle and exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between cycles (default: MONITORKIT_WATCHER_INTERVAL, 60).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        if interval is None:
            interval = monitor_settings.watcher_interval
        if interval <= 0:
            raise CommandError("--interval must be a number of seconds above 0.")
        watcher = watcher_for(interval=None if options["once"] else interval)
        if watcher is None:
            raise CommandError(
                "No store to watch: add 'monitorkit' to INSTALLED_APPS or set FIREBASE_MONITORING."
            )
        self.warn_about_declarations()
        if options["once"]:
            self.show(watcher.cycle())
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stopper(stop))
        while not stop.is_set():
            try:
                self.show(watcher.cycle())
            except Exception as err:  # noqa: BLE001 - a worker outlives one bad cycle
                self.stderr.write(f"monitor_watch: the cycle failed: {type(err).__name__}: {err}")
            stop.wait(interval)

    def warn_about_declarations(self) -> None:
        """Log bad schedule declarations and alert settings once, as the run-time warning.

        The system checks run them only inside ``manage.py check`` (``monitorkit/checks.py``):
        this is where a deployment that never runs ``check`` hears of them, with or without
        ``--skip-checks``.
        """
        from ...checks import schedule_and_alert_problems

        found = schedule_and_alert_problems()
        if found:
            logger.warning(
                "monitorkit schedules or alerts need attention (the watcher runs anyway): %s",
                "; ".join(f"{p.id}: {p.msg} {p.hint}" for p in found),
            )

    def show(self, report: CycleReport) -> None:
        """Print one line per change, one per alert that a channel failed, and a summary."""
        for transition in report.transitions:
            self.stdout.write(
                f"{format_timestamp(transition.at)}  {transition.command_id}  "
                f"{transition.previous} -> {transition.health}"
            )
        for transition in report.follow_ups:
            kind = transition.follow_up.key if transition.follow_up is not None else ""
            self.stdout.write(
                f"{format_timestamp(transition.at)}  {transition.command_id}  "
                f"still {transition.health} ({kind})"
            )
        for summary in report.summaries:
            self.stdout.write(
                f"{format_timestamp(summary.at)}  {summary.command_id}  snooze "
                f"{summary.summary_of} ended: summary stored"
            )
        for alert in report.alerts:
            if alert.retrying or alert.given_up:
                self.stdout.write(f"alert {alert.transition_id}: {alert.describe()}")
        self.stdout.write(
            f"checked {report.checked} command id(s): {len(report.transitions)} change(s); "
            f"{report.describe_alerts()}; {report.spool_delivered} spooled record(s) delivered"
        )
        self.stdout.flush()
