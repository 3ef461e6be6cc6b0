"""Switched off means no thread, no request, no record."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit import MonitoredCommand
from monitorkit.models import CommandRun
from monitorkit.recording import sender

pytestmark = pytest.mark.django_db(transaction=True)


class Noop(MonitoredCommand):
    monitor_command_name = "noop"

    def handle(self, *args: Any, **options: Any) -> str:
        return "done"


@pytest.fixture
def no_sender(monkeypatch):
    monkeypatch.setattr(sender, "_sender", None)


def monitorkit_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("monitorkit-heartbeat")]


@pytest.mark.parametrize("setting,value", [("TESTING", True), ("FIREBASE_MONITORING_RUN", False)])
def test_setting_switches_monitoring_off(settings, no_sender, setting, value):
    setattr(settings, setting, value)
    assert call_command(Noop()) == "done"
    assert sender._sender is None
    assert monitorkit_threads() == []
    assert CommandRun.objects.count() == 0


def test_disable_monitor_option(no_sender):
    assert call_command(Noop(), disable_monitor=True) == "done"
    assert sender._sender is None
    assert CommandRun.objects.count() == 0


def test_enabled_for_contrast(no_sender):
    assert call_command(Noop()) == "done"
    assert sender._sender is not None
    assert CommandRun.objects.count() == 1
