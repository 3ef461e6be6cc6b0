import signal
import sys
import time

from tests.testapp.twin import command_base


def on_term(signum, frame):
    sys.stdout.write("user handler ran\n")
    sys.stdout.flush()
    sys.exit(7)


class Command(command_base()):
    help = "Sleep, reporting progress, until done or killed."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "--user_handler=before" in sys.argv:
            signal.signal(signal.SIGTERM, on_term)  # installed before the run starts

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=1.0)
        parser.add_argument("--steps", type=int, default=10)
        parser.add_argument("--user_handler", choices=["before", "inside"], default=None)

    def handle(self, *args, **options):
        if options["user_handler"] == "inside":
            signal.signal(signal.SIGTERM, on_term)  # replaces monitorkit's for this run
        steps = options["steps"]
        self.stdout.write("ready")
        self.stdout.flush()
        for done in range(steps):
            time.sleep(options["seconds"] / steps)
            if hasattr(self, "monitor_progress"):
                self.monitor_progress(done + 1, steps)
        self.stdout.write("done")
