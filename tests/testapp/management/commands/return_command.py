from tests.testapp.twin import command_base

VALUES = {"int": 3, "dict": {"rows": 2}, "bytes": b"raw", "text": "fine"}


class Command(command_base()):
    help = "Return a value of a given type from handle (Django's execute writes it out)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=sorted(VALUES), default="text")

    def handle(self, *args, **options):
        self.stdout.write("handled")
        return VALUES[options["kind"]]
