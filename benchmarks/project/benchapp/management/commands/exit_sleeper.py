"""The 1 s command of benchmark row 16: ``sleeper`` with its body's start and end stamped.

The stamps go to ``benchmarks/timeline_probe.py`` when the process runs under it (it registers
itself under its module name); run any other way, they go to a list nobody reads.
"""

import time

from benchapp.twin import command_base
from benchmarks.timeline_probe import stamp


class Command(command_base()):
    help = "Sleep --seconds, stamping the start and end of it (benchmark row 16)."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=1.0)

    def handle(self, *args, **options):
        stamp("handle entry")
        time.sleep(options["seconds"])
        stamp("handle exit")
