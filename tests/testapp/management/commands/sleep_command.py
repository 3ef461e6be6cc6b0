import signal
import sys
import time

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Sleep, reporting progress, until done or killed."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=1.0)
        parser.add_argument("--steps", type=int, default=10)
        parser.add_argument("--user_handler", action="store_true")

    def handle(self, *args, **options):
        if options["user_handler"]:
            def on_term(signum, frame):
                sys.stdout.write("user handler ran\n")
                sys.stdout.flush()
                sys.exit(7)

            signal.signal(signal.SIGTERM, on_term)
        steps = options["steps"]
        self.stdout.write("ready")
        self.stdout.flush()
        for done in range(steps):
            time.sleep(options["seconds"] / steps)
            if hasattr(self, "monitor_progress"):
                self.monitor_progress(done + 1, steps)
        self.stdout.write("done")
