"""A class's own heartbeat interval obeys the setting's rule: ``inf`` must not kill the thread."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit import MonitoredCommand
from monitorkit.models import CommandRun

pytestmark = pytest.mark.django_db(transaction=True)


class Endless(MonitoredCommand):
    monitor_command_name = "endless"
    monitor_heartbeat_interval = float("inf")

    def handle(self, *args: Any, **options: Any) -> None:
        self.interval = self.get_monitor_heartbeat_interval()


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), 1e10, -1.0, "abc"])
def test_an_unusable_class_interval_falls_back_to_the_setting(bad, caplog, settings):
    settings.FIREBASE_MONITORING_INTERVAL_PING = 7
    crashed: list[Any] = []
    previous_hook = threading.excepthook
    threading.excepthook = crashed.append
    try:
        command = type("Bad", (Endless,), {"monitor_heartbeat_interval": bad})()
        with caplog.at_level(logging.WARNING, logger="monitorkit"):
            call_command(command)
    finally:
        threading.excepthook = previous_hook
    assert command.interval == 7
    assert crashed == []
    assert "monitor_heartbeat_interval" in caplog.text
    assert CommandRun.objects.get().status == "FINISHED"
