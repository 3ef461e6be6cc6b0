import time

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Sleep --seconds; one command id whatever the option, alerted when a run is fast."

    monitor_command_id = "outlier"
    monitor_outliers = "fast"

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=0.0)

    def handle(self, *args, **options):
        time.sleep(options["seconds"])
        self.stdout.write("slept")
