from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Declared to run every second (and never run by the tests that watch it)."

    monitor_schedule = 1
    monitor_start_margin = 0.5

    def handle(self, *args, **options):
        self.stdout.write("ran")
