import json
import timeit

from monitorkit import MonitoredCommand


class Command(MonitoredCommand):
    help = "Time monitor_progress() inside a live monitored run (prints JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--number", type=int, default=1_000_000)

    def handle(self, *args, **options):
        number = options["number"]
        progress = self.monitor_progress
        loops = [timeit.timeit(lambda: progress(5, 10), number=number) / number for _ in range(5)]
        empty = [timeit.timeit(lambda: None, number=number) / number for _ in range(5)]
        self.stdout.write(json.dumps({"per_call_s": min(loops), "empty_lambda_s": min(empty)}))
