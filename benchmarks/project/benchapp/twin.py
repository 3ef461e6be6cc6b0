"""BENCH_TWIN=plain makes every benchmark command a plain BaseCommand (the unmonitored twin)."""

import os

from django.core.management.base import BaseCommand

from monitorkit import MonitoredCommand


def command_base() -> type:
    return BaseCommand if os.environ.get("BENCH_TWIN") == "plain" else MonitoredCommand
