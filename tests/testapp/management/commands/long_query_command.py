import os

from django.db import connection

from tests.testapp.twin import command_base

# One recursive count that keeps SQLite busy for about a minute, in C from start to end. Its
# first row writes "query starting" to stdout through os.write, called by SQLite itself: no
# Python code runs after the line is out, so a signal sent on that line finds SQLite running
# (a Python function there would let Python's handler run on its way back).
LONG_SQL = (
    "WITH RECURSIVE n(i) AS (SELECT write_fd(1, %s) UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
    "SELECT count(*) FROM n"
)


class Command(command_base()):
    help = "Run one long CPU-bound SQLite query (about a minute), then say done."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=300_000_000)

    def handle(self, *args, **options):
        connection.ensure_connection()
        connection.connection.create_function("write_fd", 2, os.write)
        with connection.cursor() as cursor:
            cursor.execute(LONG_SQL, [b"query starting\n", options["rows"]])
            (count,) = cursor.fetchone()
        self.stdout.write(f"done: {count}")
