import sys

from django.core.management.base import CommandError

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Fail in the way --kind says."

    def add_arguments(self, parser):
        parser.add_argument(
            "--kind",
            default="value",
            choices=[
                "value",
                "command_error",
                "exit0",
                "exit3",
                "exit_text",
                "exit_none",
                "secret",
            ],
        )
        parser.add_argument("--token", default=None)

    def handle(self, *args, **options):
        self.stdout.write("before the failure")
        kind = options["kind"]
        if kind == "value":
            raise ValueError("boom: the input is bad")
        if kind == "command_error":
            raise CommandError("the import source is unreachable", returncode=4)
        if kind == "exit0":
            sys.exit(0)
        if kind == "exit3":
            sys.exit(3)
        if kind == "exit_text":
            sys.exit("fatal: giving up")
        if kind == "exit_none":
            sys.exit()
        if kind == "secret":
            raise RuntimeError(f"login failed with token {options['token']}")
