import sys

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Print a greeting and succeed."

    def add_arguments(self, parser):
        parser.add_argument("--label", default="")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--api_key", default=None)

    def handle(self, *args, **options):
        for _ in range(options["count"]):
            self.stdout.write(f"hello {options['label']}".rstrip())
        sys.stderr.write("a line on stderr\n")
        return "returned text"
