import json
import resource
import sys
import time

from django.db import connection

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Run a known number of queries and hold a known amount of memory; say what it measured."

    def add_arguments(self, parser):
        parser.add_argument("--queries", type=int, default=0)
        parser.add_argument("--megabytes", type=int, default=0)
        parser.add_argument("--sleep", type=float, default=0.0)
        parser.add_argument("--fail", action="store_true")

    def handle(self, *args, **options):
        held = bytearray(options["megabytes"] * 1024 * 1024)  # zero-filled: all of it touched
        with connection.cursor() as cursor:
            for _ in range(options["queries"]):
                cursor.execute("SELECT 1")
        time.sleep(options["sleep"])  # heartbeats, which monitorkit writes, happen meanwhile
        usage = resource.getrusage(resource.RUSAGE_SELF)
        measured = {
            "held": len(held),
            "cpu_user_seconds": usage.ru_utime,
            "cpu_system_seconds": usage.ru_stime,
            "peak_memory_bytes": usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024),
        }
        self.stdout.write(json.dumps(measured))
        if options["fail"]:
            raise ValueError("the cost was too high")
