import sys

from benchapp.twin import command_base


class Command(command_base()):
    help = "Print --megabytes of text in lines of --line-bytes, through self.stdout or print()."

    def add_arguments(self, parser):
        parser.add_argument("--megabytes", type=int, default=50)
        parser.add_argument("--line-bytes", type=int, default=100)
        parser.add_argument("--via", choices=["self.stdout", "print"], default="self.stdout")

    def handle(self, *args, **options):
        size = options["line_bytes"]
        line = "x" * (size - 1)  # the newline makes it size bytes
        count = options["megabytes"] * 1_000_000 // size
        if options["via"] == "print":
            write = print
            for _ in range(count):
                write(line)
        else:
            write = self.stdout.write
            for _ in range(count):
                write(line)
        sys.stdout.flush()
