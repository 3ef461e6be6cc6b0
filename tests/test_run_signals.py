"""Run-event signals come from real runs, on the sender's thread, once per start and outcome."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit import MonitoredCommand, signals
from monitorkit.models import CommandRun

pytestmark = pytest.mark.django_db(transaction=True)


class Works(MonitoredCommand):
    monitor_command_name = "works"

    def handle(self, *args: Any, **options: Any) -> None:
        return None


class Breaks(MonitoredCommand):
    monitor_command_name = "breaks"

    def handle(self, *args: Any, **options: Any) -> None:
        raise ValueError("the input is bad")


@pytest.fixture
def heard():
    events: list[tuple[str, str, str, bool]] = []

    def receiver(signal: Any, record: Any, command_id: str, **kwargs: Any) -> None:
        name = next(n for n, s in vars(signals).items() if s is signal)
        on_main = threading.current_thread() is threading.main_thread()
        events.append((name, command_id, record.status.value, on_main))

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("a receiver that fails")

    hooked = (signals.run_started, signals.run_finished, signals.run_failed, signals.run_killed)
    for signal in hooked:
        signal.connect(broken, weak=False)
        signal.connect(receiver, weak=False)
    yield events
    for signal in hooked:
        signal.disconnect(broken)
        signal.disconnect(receiver)


def test_a_finished_run_sends_started_then_finished_off_the_main_thread(heard):
    call_command(Works())
    assert heard == [
        ("run_started", "works", "STARTED", False),
        ("run_finished", "works", "FINISHED", False),
    ]
    assert CommandRun.objects.get().status == "FINISHED"


def test_a_failing_receiver_changes_nothing_about_a_failing_command(heard):
    with pytest.raises(ValueError, match="the input is bad"):
        call_command(Breaks())
    assert [name for name, *_ in heard] == ["run_started", "run_failed"]
    assert CommandRun.objects.get().status == "FAILED"
