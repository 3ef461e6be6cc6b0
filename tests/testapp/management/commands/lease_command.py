import os
import time

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Say ready, wait until a file appears, then end: a run that holds its lease a while."
    monitor_command_id = "lease_command"  # one id, whatever file it waits for

    def add_arguments(self, parser):
        parser.add_argument("--release", required=True, help="the file to wait for")

    def handle(self, *args, **options):
        self.stdout.write(f"ready {os.getpid()}")
        self.stdout.flush()
        deadline = time.monotonic() + 120
        while not os.path.exists(options["release"]) and time.monotonic() < deadline:
            time.sleep(0.005)
        self.stdout.write("released")
