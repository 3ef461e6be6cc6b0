"""A nightly report whose schedule is declared, and which nobody ever runs in the demo."""

from monitorkit import MonitoredCommand


class Command(MonitoredCommand):
    help = "Build the nightly sales report (declared, never run in the demo: it becomes MISSED)."

    # A real nightly job would say "0 3 * * *"; the demo expects a run every 2 seconds so that
    # `monitor_watch` finds it missed within the demo's few seconds.
    monitor_schedule = 2
    monitor_start_margin = 1

    def handle(self, *args, **options):
        self.stdout.write("report built")
