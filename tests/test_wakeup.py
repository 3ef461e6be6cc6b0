"""The signal wakeup fd (``monitorkit/recording/wakeup.py``): ours only when nobody else has one."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator

import pytest

from monitorkit.recording.killsignals import KillSignalTrap
from monitorkit.recording.wakeup import SignalWakeup


@pytest.fixture
def handler() -> Iterator[None]:
    """A Python handler for SIGUSR1, so that Python's C handler writes to the wakeup fd."""
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: None)
    yield
    signal.signal(signal.SIGUSR1, previous)


def test_a_signal_wakes_the_callback_and_the_fd_goes_with_the_last_one(handler: None):
    wakeup = SignalWakeup()
    heard = threading.Event()
    seen: list[int] = []

    def callback(signum: int) -> None:
        seen.append(signum)
        heard.set()

    assert wakeup.watch(callback)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert heard.wait(30)
        assert seen == [signal.SIGUSR1]
    finally:
        wakeup.unwatch(callback)
    assert signal.set_wakeup_fd(-1) == -1  # taken away again


def test_another_wakeup_fd_is_left_in_place(handler: None):
    theirs, other_end = socket.socketpair()
    theirs.setblocking(False)
    signal.set_wakeup_fd(theirs.fileno())
    try:
        wakeup = SignalWakeup()
        seen: list[int] = []
        assert not wakeup.watch(seen.append)
        assert signal.set_wakeup_fd(theirs.fileno()) == theirs.fileno()
        wakeup.unwatch(seen.append)
        assert signal.set_wakeup_fd(theirs.fileno()) == theirs.fileno()
    finally:
        signal.set_wakeup_fd(-1)
        theirs.close()
        other_end.close()


def test_one_set_after_ours_is_kept_when_ours_goes(handler: None):
    wakeup = SignalWakeup()
    seen: list[int] = []
    assert wakeup.watch(seen.append)
    theirs, other_end = socket.socketpair()
    theirs.setblocking(False)
    try:
        signal.set_wakeup_fd(theirs.fileno())  # an event loop started inside the command
        wakeup.unwatch(seen.append)
        assert signal.set_wakeup_fd(-1) == theirs.fileno()
    finally:
        signal.set_wakeup_fd(-1)
        theirs.close()
        other_end.close()


class FakeRun:
    """What a ``KillSignalTrap`` asks of its run here: only whether it interrupted."""

    def __init__(self) -> None:
        self.interrupted = 0

    def interrupt_command(self) -> None:
        self.interrupted += 1


@pytest.fixture
def sigterm_default() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, previous)


def trap(run: FakeRun) -> KillSignalTrap:
    made = KillSignalTrap(run, (signal.SIGTERM,))  # type: ignore[arg-type]
    assert made.install()
    return made


def test_the_query_is_interrupted_only_where_the_signal_ends_the_process(sigterm_default: None):
    outer_run, inner_run = FakeRun(), FakeRun()
    outer = trap(outer_run)
    inner = trap(inner_run)  # a nested run: its trap hands the signal down to the outer one
    try:
        inner._on_wakeup(signal.SIGTERM)
        outer._on_wakeup(signal.SIGTERM)
        outer._on_wakeup(signal.SIGUSR1)  # not ours
        assert (outer_run.interrupted, inner_run.interrupted) == (1, 0)

        signal.signal(signal.SIGTERM, lambda signum, frame: None)  # the command's own, inside
        outer._on_wakeup(signal.SIGTERM)
        assert outer_run.interrupted == 1
    finally:
        inner.uninstall()
        outer.uninstall()
    assert signal.set_wakeup_fd(-1) == -1


def test_nothing_is_interrupted_in_front_of_a_users_handler():
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    run = FakeRun()
    made = trap(run)
    try:
        made._on_wakeup(signal.SIGTERM)
        assert run.interrupted == 0
        assert signal.set_wakeup_fd(-1) == -1  # not even woken
    finally:
        made.uninstall()
        signal.signal(signal.SIGTERM, previous)
