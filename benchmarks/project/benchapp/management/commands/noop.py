from benchapp.twin import command_base


class Command(command_base()):
    help = "Do nothing: what monitoring costs a command, and nothing else."

    def handle(self, *args, **options):
        pass
