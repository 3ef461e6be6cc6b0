from django.core.management import call_command
from django.db import transaction

from tests.testapp.models import Item
from tests.testapp.twin import command_base


class Command(command_base()):
    help = "Write inside one transaction and call three monitored commands inside it."

    def add_arguments(self, parser):
        parser.add_argument("--calls", type=int, default=3)

    def handle(self, *args, **options):
        with transaction.atomic():
            Item.objects.all().delete()
            Item.objects.create(name="outer")
            for index in range(options["calls"]):
                call_command("ok_command", f"--label=inner{index}", stdout=self.stdout)
                Item.objects.create(name=f"after inner{index}")
        self.stdout.write(f"items: {Item.objects.count()}")
