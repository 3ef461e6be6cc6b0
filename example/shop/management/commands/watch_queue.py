"""Runs until it is killed: SIGTERM (as Kubernetes or Heroku send) makes it SYSTEM_KILL."""

import time

from monitorkit import MonitoredCommand


class Command(MonitoredCommand):
    help = "Watch the order queue forever (until the platform stops the process)."

    def handle(self, *args, **options):
        self.stdout.write("Watching the queue; stop me with SIGTERM.")
        self.stdout.flush()
        while True:
            time.sleep(0.5)
