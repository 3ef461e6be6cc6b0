import os
from pathlib import Path

from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Fail while the file 'failing' exists beside the test database, succeed otherwise."

    def handle(self, *args, **options):
        if (Path(os.environ["MONITORKIT_TEST_DB_DIR"]) / "failing").exists():
            raise RuntimeError("the upstream feed is down")
        self.stdout.write("feed imported")
