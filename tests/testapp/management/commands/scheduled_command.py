import time

from tests.testapp.release import wait_for_release
from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Declared to run every second (and never run by the tests that watch it)."

    monitor_schedule = 1
    monitor_start_margin = 0.5

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=0.0, help="Sleep this long first.")
        parser.add_argument("--release", default=None, help="Then wait until this file appears.")

    def handle(self, *args, **options):
        time.sleep(options["seconds"])
        if options["release"]:
            wait_for_release(options["release"])
        self.stdout.write("ran")
