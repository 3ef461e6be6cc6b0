import os
import sys

from tests.testapp.models import Item
from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Fork; the child leaves by raising SystemExit inside handle, the parent waits for it."

    def handle(self, *args, **options):
        Item.objects.count()
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # up through handle and execute, as a child's exit would
        _, status = os.waitpid(pid, 0)
        self.stdout.write(f"child exited {os.waitstatus_to_exitcode(status)}")
