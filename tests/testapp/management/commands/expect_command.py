import threading

from tests.testapp.twin import command_base


def check_rows(record):
    """The command's check: what ``--check`` asked it to do, with the rows it stored."""
    mode = record.metadata.get("check_mode")
    if mode == "raise":
        raise RuntimeError("the check itself broke")
    if mode == "sleep":
        threading.Event().wait()  # never returns: the sender must leave it behind at its bound
        return True
    if mode == "reason":
        return f"only {record.metadata.get('rows')} rows"
    return True


class Command(command_base()):
    help = "Store --rows in the metadata and print them; the class's check judges the run."

    monitor_check = check_rows

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=None)
        parser.add_argument("--check", default="ok")

    def handle(self, *args, **options):
        self.rows = options["rows"]
        self.check_mode = options["check"]
        self.stdout.write(f"{self.rows} rows")

    def get_monitor_metadata(self, **metadata):
        metadata.setdefault("rows", getattr(self, "rows", None))
        metadata.setdefault("check_mode", getattr(self, "check_mode", None))
        return super().get_monitor_metadata(**metadata)
