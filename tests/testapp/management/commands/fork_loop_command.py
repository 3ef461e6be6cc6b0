from django.core.management import call_command

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Run fork_command many times in this one process (each a monitored run)."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=50)

    def handle(self, *args, **options):
        for _ in range(options["runs"]):
            call_command("fork_command", stdout=self.stdout)
