"""Succeeds: one line of output, and the run is FINISHED."""

from monitorkit import MonitoredCommand


class Command(MonitoredCommand):
    help = "Send this week's newsletter (the demo only counts the readers)."

    def add_arguments(self, parser):
        parser.add_argument("--segment", default="all")

    def handle(self, *args, **options):
        self.stdout.write(f"Newsletter sent to segment {options['segment']!r}.")
