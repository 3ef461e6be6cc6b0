"""The one background thread that delivers records, so the command never waits on a backend.

``submit`` is what the command's side calls, from its own thread, the heartbeat thread or a
signal handler: it takes no lock that the interrupted code might hold (a ``deque`` append and a
non-blocking write to a socket pair), never blocks and never raises. When the queue is full the
event is dropped and counted, and the count is logged from the sender's thread.

``flush`` is the only wait a command ever has, at its end, and it is bounded. An event that a
later one of the same run makes redundant (a start or heartbeat followed by the finish) is
skipped, so a short command costs its backend one write, not three.
"""

from __future__ import annotations

import collections
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .record import RunRecord
    from .reporters.base import Reporter

logger = logging.getLogger("monitorkit")

#: How long a start waits for its run's finish before it is sent on its own. A command that
#: ends within this time costs one write instead of two; a longer one never notices.
START_SETTLE_SECONDS = 0.01


@dataclass(frozen=True)
class Event:
    """One update for the reporters; ``kind`` names the reporter method that takes it."""

    kind: str
    record: RunRecord
    reporters: Sequence[Reporter]
    submitted: float = field(default_factory=time.monotonic)


class Sender:
    """A bounded queue and the daemon thread that empties it into the reporters."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._events: collections.deque[Event] = collections.deque()
        self._dropped = 0
        self._dropped_logged = 0
        self._drained = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._loop, name="monitorkit-sender", daemon=True)
        self._thread.start()

    def submit(self, kind: str, record: RunRecord, reporters: Sequence[Reporter]) -> bool:
        """Queue one event; return ``False`` when the queue was full and it was dropped."""
        if len(self._events) >= self.queue_size:
            self._dropped += 1
            return False
        self._events.append(Event(kind, record, reporters))
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the wake-up buffer is full: the thread is awake already
            pass
        return True

    @property
    def pending(self) -> int:
        """Events not yet delivered (the one being delivered included)."""
        return len(self._events)

    def flush(self, timeout: float, from_signal: bool = False) -> bool:
        """Wait at most ``timeout`` seconds for every queued event; return whether all went.

        From a signal handler it polls instead of waiting on an ``Event``: the handler may have
        interrupted this very thread inside the ``Event``'s lock.
        """
        deadline = time.monotonic() + timeout
        if from_signal:
            return self._poll_until_drained(deadline)
        while self._events:
            self._drained.clear()
            if not self._events:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._drained.wait(remaining)
        return True

    def _poll_until_drained(self, deadline: float) -> bool:
        pause = 0.001
        while self._events:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.01)
        return True

    def _loop(self) -> None:
        while True:
            if not self._events:
                self._sleep(1.0)
                self._report_drops()
                continue
            # Peek, deliver, then pop: an empty deque means everything was delivered.
            event = self._events[0]
            settle = event.submitted + START_SETTLE_SECONDS - time.monotonic()
            if event.kind == "start_run" and settle > 0 and len(self._events) == 1:
                self._sleep(settle)  # the run may end right away: then only its finish goes
                continue
            try:
                if not self._superseded(event):
                    deliver(event)
            finally:
                self._events.popleft()
                if not self._events:
                    self._drained.set()

    def _sleep(self, timeout: float) -> None:
        """Wait until woken by ``submit`` or ``timeout`` passes."""
        select.select([self._wake_r], [], [], timeout)
        try:
            self._wake_r.recv(4096)
        except (BlockingIOError, OSError):
            pass

    def _superseded(self, event: Event) -> bool:
        """Return whether a later queued event of the same run makes ``event`` redundant.

        Every reporter writes a whole record and stores a run it has not seen yet, whatever
        the event: a later heartbeat or finish carries everything a start or heartbeat would.
        """
        if event.kind == "finish_run":
            return False
        run_id = event.record.run_id
        later = list(self._events)[1:]  # list() copies in one C call: safe against appends
        return any(
            other.record.run_id == run_id and other.reporters == event.reporters for other in later
        )

    def _report_drops(self) -> None:
        dropped = self._dropped
        if dropped != self._dropped_logged:
            logger.warning(
                "monitorkit dropped %d record update(s): the queue of %d was full "
                "(the backend is slower than the commands)",
                dropped - self._dropped_logged,
                self.queue_size,
            )
            self._dropped_logged = dropped


def deliver(event: Event) -> None:
    """Hand one event to each reporter; a failure is logged and stays with that reporter."""
    for reporter in event.reporters:
        try:
            getattr(reporter, event.kind)(event.record)
        except Exception as exc:  # noqa: BLE001 - monitoring must never fail the command
            logger.error(
                "monitorkit could not deliver %s of run %s (command %r) to %s: %s",
                event.kind.replace("_", " "),
                event.record.run_id,
                event.record.id,
                reporter.describe(),
                reporter.redact(f"{type(exc).__name__}: {exc}"),
            )


_sender: Sender | None = None
_sender_lock = threading.Lock()
_sender_pid = os.getpid()


def get_sender(queue_size: int = 1000) -> Sender:
    """Return this process's sender, starting it on first use (and anew after a fork)."""
    global _sender, _sender_pid
    with _sender_lock:
        if _sender is None or _sender_pid != os.getpid():
            _sender = Sender(queue_size)
            _sender_pid = os.getpid()
        return _sender


def _forget_after_fork() -> None:
    global _sender, _sender_lock
    _sender = None
    _sender_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
