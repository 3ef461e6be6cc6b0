"""Each test command is written once and runs either monitored or as its unmonitored twin.

``MONITORKIT_TWIN=plain`` in the environment makes every test command a plain ``BaseCommand``,
so a test can compare a monitored run with the very same code run without monitorkit.
"""

import os

from django.core.management.base import BaseCommand

from monitorkit import MonitoredCommand


def command_base() -> type:
    return BaseCommand if os.environ.get("MONITORKIT_TWIN") == "plain" else MonitoredCommand
