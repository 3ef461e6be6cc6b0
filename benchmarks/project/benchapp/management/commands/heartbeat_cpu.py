import json
import threading
import time

from monitorkit import MonitoredCommand


def monitorkit_cpu() -> float:
    """CPU seconds used so far by monitorkit's threads (sender, heartbeat, helpers)."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith("monitorkit") and thread.ident is not None:
            try:
                total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, ProcessLookupError):
                pass
    return total


class Command(MonitoredCommand):
    help = "Sleep --seconds; print the CPU monitorkit's threads used meanwhile (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=10.0)

    def handle(self, *args, **options):
        time.sleep(1.0)  # let the start (and the import of the HTTP layer) finish first
        before = monitorkit_cpu()
        time.sleep(options["seconds"])
        used = monitorkit_cpu() - before
        self.stdout.write(json.dumps({"cpu_s": used, "seconds": options["seconds"]}))
