import time

from django.db import connection, transaction

from tests.testapp.models import Item
from tests.testapp.twin import command_base

# A query that keeps SQLite busy for seconds (a recursive count), and ends on its own.
SLOW_SQL = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
    "SELECT count(*) FROM n"
)


class Command(command_base()):
    help = "Say ready, then sit in a slow query or an open transaction until killed."

    def add_arguments(self, parser):
        parser.add_argument("--inside", choices=["query", "atomic"], default="atomic")
        parser.add_argument("--seconds", type=float, default=30.0)

    def handle(self, *args, **options):
        if options["inside"] == "atomic":
            with transaction.atomic():
                Item.objects.create(name="held")
                self.stdout.write("ready")
                self.stdout.flush()
                time.sleep(options["seconds"])
        else:
            with connection.cursor() as cursor:
                cursor.execute(SLOW_SQL, [1_000_000])  # "ready" comes once queries are running
                self.stdout.write("ready")
                self.stdout.flush()
                # Repeated short slow queries: a signal lands inside one of them.
                deadline = time.monotonic() + options["seconds"]
                while time.monotonic() < deadline:
                    cursor.execute(SLOW_SQL, [1_000_000])
        self.stdout.write("done")
