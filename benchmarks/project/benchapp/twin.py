"""BENCH_TWIN=plain makes every benchmark command a plain BaseCommand (the unmonitored twin).

monitorkit is imported only for the monitored variant: a plain command of a project imports
nothing of monitorkit, and the project without monitorkit (row 15) must not either.
"""

import os

from django.core.management.base import BaseCommand


def command_base() -> type:
    if os.environ.get("BENCH_TWIN") == "plain":
        return BaseCommand
    from monitorkit import MonitoredCommand

    return MonitoredCommand
