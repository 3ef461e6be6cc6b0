"""The no-op of benchmark row 14: ``noop`` with its body's start and end stamped.

The stamps go to ``benchmarks/timeline_probe.py`` when the process runs under it (it registers
itself under its module name); run any other way, they go to a list nobody reads.
"""

from benchapp.twin import command_base
from benchmarks.timeline_probe import stamp


class Command(command_base()):
    help = "Do nothing, stamping the start and end of doing it (benchmark row 14)."

    def handle(self, *args, **options):
        stamp("handle entry")
        stamp("handle exit")
