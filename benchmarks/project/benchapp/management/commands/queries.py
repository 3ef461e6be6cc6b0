import json
import time

from django.db import connection

from benchapp.twin import command_base


def timed(cursor, count):
    started = time.perf_counter()
    for _ in range(count):
        cursor.execute("SELECT 1")
    return time.perf_counter() - started


class Command(command_base()):
    help = "Run N trivial queries (SELECT 1) and write how long they took to a file."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("timing", help="a file to write the loops' seconds to (JSON)")

    def handle(self, *args, **options):
        count = options["count"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the connection opened before any clock starts
            seconds = {"loop": timed(cursor, count)}
            # Monitored: the same loop again with the run's query counter taken off this
            # connection for a moment, in the same process, beside the same threads.
            wrappers = connection.execute_wrappers
            counters = [w for w in wrappers if type(w).__name__ == "QueryCounter"]
            if counters:
                for counter in counters:
                    wrappers.remove(counter)
                seconds["uncounted"] = timed(cursor, count)
                wrappers.extend(counters)
                seconds["counted"] = counters[0].count
        with open(options["timing"], "w") as out:
            json.dump(seconds, out)
