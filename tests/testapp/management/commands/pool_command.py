import multiprocessing

from django.db import connections

from tests.testapp.models import Item
from tests.testapp.twin import command_base


def count_items(_):
    connections.close_all()
    return Item.objects.count()


class Command(command_base()):
    help = "Open and close a Pool of forked workers, again and again (closing terminates them)."

    def add_arguments(self, parser):
        parser.add_argument("--times", type=int, default=20)

    def handle(self, *args, **options):
        context = multiprocessing.get_context("fork")
        for _ in range(options["times"]):
            with context.Pool(2) as pool:
                pool.map(count_items, range(4))
        self.stdout.write("pools closed")
