"""Progress: stored on the run by the caller, shipped by the heartbeat."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.management import call_command

import monitorkit
from monitorkit import MonitoredCommand
from monitorkit.models import CommandRun

pytestmark = pytest.mark.django_db(transaction=True)


class Crunch(MonitoredCommand):
    monitor_command_name = "crunch"
    monitor_heartbeat_interval = 0.05

    def handle(self, *args: Any, **options: Any) -> None:
        self.monitor_progress(5, 10)
        deadline = time.monotonic() + 60  # generous: a busy machine
        while time.monotonic() < deadline:  # wait for a heartbeat to carry it
            row = CommandRun.objects.first()  # the start may not be stored yet
            if row is not None and row.status == "RUNNING" and row.progress:
                self.seen = row.progress
                return
            time.sleep(0.02)


def test_progress_is_shipped_with_the_next_heartbeat():
    command = Crunch()
    call_command(command)
    assert command.seen == {"done": 5, "total": 10}
    assert CommandRun.objects.get().progress == {"done": 5, "total": 10}


class Walk(MonitoredCommand):
    monitor_command_name = "walk"

    def handle(self, *args: Any, **options: Any) -> None:
        self.items = list(monitorkit.track(["a", "b", "c"]))
        self.more = list(self.monitor_track(iter(range(4)), total=4))


def test_track_counts_items_as_they_are_consumed():
    command = Walk()
    call_command(command)
    assert command.items == ["a", "b", "c"]
    assert command.more == [0, 1, 2, 3]
    assert CommandRun.objects.get().progress == {"done": 4, "total": 4}


def test_track_outside_a_run_just_yields():
    assert list(monitorkit.track(range(3))) == [0, 1, 2]
    assert CommandRun.objects.count() == 0


def test_progress_outside_a_run_is_ignored():
    Crunch().monitor_progress(1, 2)  # no run: nothing happens, nothing raises
