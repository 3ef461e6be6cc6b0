import time

from django.db import transaction

from tests.testapp.models import Item
from tests.testapp.twin import command_base


class Rollback(Exception):
    pass


class Command(command_base()):
    help = "Write inside a transaction while heartbeats are due; roll back on request."

    def add_arguments(self, parser):
        parser.add_argument("--hold", type=float, default=1.0)
        parser.add_argument("--rollback", action="store_true")

    def handle(self, *args, **options):
        Item.objects.all().delete()
        try:
            with transaction.atomic():
                Item.objects.create(name="first")
                self.stdout.write("holding")  # inside the transaction: a test may act now
                self.stdout.flush()
                time.sleep(options["hold"])
                Item.objects.create(name="second")
                list(Item.objects.all())
                if options["rollback"]:
                    raise Rollback()
        except Rollback:
            self.stdout.write("rolled back")
        self.stdout.write(f"items: {Item.objects.count()}")
