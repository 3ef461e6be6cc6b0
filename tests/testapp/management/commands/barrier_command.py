from tests.testapp.release import wait_for_release
from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Say ready, wait until a file appears, then end: many runs end at the same moment."

    def add_arguments(self, parser):
        parser.add_argument("--release", required=True, help="the file to wait for")

    def handle(self, *args, **options):
        self.stdout.write("ready")
        self.stdout.flush()
        wait_for_release(options["release"])
        self.stdout.write("released")
