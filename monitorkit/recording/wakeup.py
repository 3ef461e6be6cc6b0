"""Hear a signal while the main thread is still inside C, and let a callback act on it.

Python runs a signal handler only once the main thread is back in Python code. A command inside
one long SQLite query (a recursive CTE, a huge sort) keeps the handler waiting for the query:
without monitorkit the default action would have ended the process at once, with it the process
lived on for minutes (and systemd's SIGKILL would come before the kill was recorded). Python's
C-level handler also writes the signal's number to the wakeup fd (``signal.set_wakeup_fd``) the
moment the signal arrives: this module's thread reads it and calls back (``KillSignalTrap``
then interrupts the command's query, ``monitorkit/recording/killsignals.py``).

One wakeup fd per process: when another one is set already (asyncio's event loop sets one) it
is left in place and we do without; ours is taken away again once the last callback is gone,
and in a forked child at once (the child shares our socket with its parent: a signal sent to
the child must never wake the parent's thread).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable

logger = logging.getLogger("monitorkit")

Callback = Callable[[int], None]


class SignalWakeup:
    """The process's wakeup fd while callbacks want it, and the thread that reads it."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._armed = False

    def watch(self, callback: Callback) -> bool:
        """Call ``callback(signum)`` on our thread for each signal Python catches from now on.

        Main thread only. Returns ``False`` (and calls nothing) when another wakeup fd is set.
        """
        if not self._armed and not self._arm():
            return False
        self._callbacks.append(callback)
        return True

    def unwatch(self, callback: Callback) -> None:
        """Stop calling ``callback``; the last one gone, our wakeup fd goes (main thread)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)
        if self._armed and not self._callbacks:
            self._disarm()

    def _arm(self) -> bool:
        if self._writer is None:
            self._reader, self._writer = socket.socketpair()
            self._writer.setblocking(False)  # Python's C handler must never block on it
            threading.Thread(
                target=self._loop, args=(self._reader,), name="monitorkit-wakeup", daemon=True
            ).start()
        try:
            previous = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            return False
        if previous not in (-1, self._writer.fileno()):
            # Someone else's (asyncio's loop, say): put it back. It was most likely set with
            # the default ``warn_on_full_buffer``, which the signal module cannot tell us.
            signal.set_wakeup_fd(previous)
            return False
        self._armed = True
        return True

    def _disarm(self) -> None:
        self._armed = False
        try:
            current = signal.set_wakeup_fd(-1)
        except ValueError:  # not the main thread: it stays; our thread reads and ignores it
            return
        if self._writer is not None and current not in (-1, self._writer.fileno()):
            signal.set_wakeup_fd(current)  # set by someone else after us: theirs stays

    def _loop(self, reader: socket.socket) -> None:
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for signum in dict.fromkeys(data):  # each signal once, in order
                for callback in list(self._callbacks):
                    try:
                        callback(signum)
                    except Exception:
                        logger.exception("monitorkit: a signal wake-up callback failed")

    def forget_after_fork(self) -> None:
        """In a forked child: no wakeup fd of ours, no callbacks, no shared socket."""
        if self._armed:
            self._disarm()
        for sock in (self._reader, self._writer):
            if sock is not None:
                sock.close()
        self._callbacks = []
        self._reader = self._writer = None
        self._armed = False


signal_wakeup = SignalWakeup()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=signal_wakeup.forget_after_fork)
