import io
import multiprocessing
import time

from django.core.management import call_command
from django.db import connections

from tests.testapp.models import Item
from tests.testapp.twin import command_base

CHILD_TIMEOUT = 20


def run_child(index):
    """In a forked child: query, then run this command again (monitored, it queries too)."""
    connections.close_all()  # Django's advice for a fork; the child's queries open anew
    Item.objects.count()
    call_command("query_command", f"--label=child{index}", stdout=io.StringIO())


class Command(command_base()):
    help = "Query the database; then run itself nested, or in forked children, on request."

    def add_arguments(self, parser):
        parser.add_argument("--label", default="top")
        parser.add_argument("--nested", action="store_true")
        parser.add_argument("--children", type=int, default=0)

    def handle(self, *args, **options):
        count = Item.objects.count()
        if options["nested"]:
            call_command("query_command", "--label=inner", stdout=self.stdout)
        context = multiprocessing.get_context("fork")
        for index in range(options["children"]):
            # One child at a time, a few ms apart: the forks land at all moments of the
            # parent's sender's writes (its heartbeats are frequent in the tests).
            child = context.Process(target=run_child, args=(index,))
            child.start()
            child.join(CHILD_TIMEOUT)
            if child.exitcode is None:
                child.kill()
                child.join()
                self.stdout.write(f"child {index} hung")
            else:
                self.stdout.write(f"child {index} exited {child.exitcode}")
            time.sleep(0.005)
        self.stdout.write(f"{options['label']}: {count} items")
