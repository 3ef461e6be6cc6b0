"""Fails: the warehouse is unreachable, so the run is FAILED with the error and traceback."""

from monitorkit import MonitoredCommand


class Command(MonitoredCommand):
    help = "Pull stock levels from the warehouse API."

    def add_arguments(self, parser):
        parser.add_argument("--api_token", help="Never stored: masked in params, left out of ids.")

    def handle(self, *args, **options):
        raise ConnectionError("warehouse API at wh.example.invalid is unreachable")
