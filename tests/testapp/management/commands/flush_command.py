from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Say hello, and say when the run's outcome is recorded (only its flush is left)."

    def handle(self, *args, **options):
        self.stdout.write("hello")

    def monitor_finish(self, run, error):
        super().monitor_finish(run, error)
        self.stdout.write("outcome recorded")  # what follows is the final flush
        self.stdout.flush()
