"""Runs long with progress: heartbeats carry how many orders are imported so far."""

import time
from decimal import Decimal

import monitorkit
from monitorkit import MonitoredCommand
from shop.models import Order


class Command(MonitoredCommand):
    help = "Import the day's orders, reporting progress as it goes."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=25)
        parser.add_argument("--delay", type=float, default=0.2)

    def handle(self, *args, **options):
        Order.objects.all().delete()
        for n in monitorkit.track(range(options["count"])):
            Order.objects.create(number=f"A-{n:05d}", total=Decimal("9.99"))
            time.sleep(options["delay"])
        self.stdout.write(f"Imported {Order.objects.count()} orders.")

    def get_monitor_metadata(self, **metadata):
        metadata.setdefault("orders_in_db", Order.objects.count())
        return super().get_monitor_metadata(**metadata)
