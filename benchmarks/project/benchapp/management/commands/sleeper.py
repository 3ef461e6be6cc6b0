import time

from benchapp.twin import command_base


class Command(command_base()):
    help = "Sleep --seconds (a command whose handle takes time)."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=1.0)

    def handle(self, *args, **options):
        time.sleep(options["seconds"])
