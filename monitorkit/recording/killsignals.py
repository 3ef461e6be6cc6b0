"""Record ``SYSTEM_KILL`` when SIGTERM, SIGINT or SIGHUP ends the process, then let it end.

Our handler records the kill and waits (bounded) for the record to go out, or keeps it in the
spool; then the signal does exactly what it would have done without us: the handler that was
there before runs (a user's handler, or Python's ``KeyboardInterrupt`` for SIGINT), or, for the
default action, the default is restored and the signal sent again so the process ends *by that
signal* (exit status 128+N in a shell). A signal that was ignored stays ignored and is not recorded.

The handlers stay in place until the run's last flush is over, so a signal during that flush
still leaves the final record delivered or spooled. A second signal while the first is being
recorded (Ctrl-C pressed twice) cuts the wait short: what is not yet delivered is spooled and
the signal acts at once, so the process never waits longer than the flush bound in all.

Where the signal ends the process at once without us (the default action), a command inside
one long query must not make it wait for the query: we are woken at C level as the signal
arrives (``monitorkit/recording/wakeup.py``) and interrupt the command's query
(``Reporter.interrupt_command``: SQLite's thread-safe ``Connection.interrupt``); the main
thread comes back from C, our handler records the kill and the signal ends the process, as it
would have without us. Where it would not end it at once (Python's ``KeyboardInterrupt``, a
user's handler), nothing is interrupted.

A forked child inherits our handlers, but not the run: the child gets the handlers that were
there before back at once (``monitorkit/forks.py`` holds these signals back across the fork, so
none is lost in between), exactly as without monitorkit: ``Pool.terminate()`` ends its workers
at once (with the default action, not with a Python handler a worker about to block in a lock
might never run), and none of them records a kill for the parent's run.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from .. import forks
from .run import MonitoredRun
from .wakeup import signal_wakeup

logger = logging.getLogger("monitorkit")

KILL_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)

Handler = Any  # a callable, signal.SIG_DFL, signal.SIG_IGN or None


class KillSignalTrap:
    """Our handlers for one run, and the handlers they stand in front of."""

    def __init__(self, run: MonitoredRun, signals: tuple[int, ...] = KILL_SIGNALS) -> None:
        self.run = run
        self.signals = signals
        self._previous: dict[int, Handler] = {}
        self._recording = False
        self._woken = False

    def install(self) -> bool:
        """Install our handlers; only possible on the main thread (else returns ``False``)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in self.signals:
            previous = signal.getsignal(signum)
            if previous in (signal.SIG_IGN, None):
                continue  # ignored or set outside Python: leave it exactly as it is
            self._previous[signum] = previous
            signal.signal(signum, self._handle)
        if signal.SIG_DFL in self._previous.values():
            self._woken = signal_wakeup.watch(self._on_wakeup)
        _installed[self] = None
        return True

    def uninstall(self) -> None:
        """Put the previous handlers back, unless someone replaced ours meanwhile."""
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._handle:
                signal.signal(signum, previous)
        self._previous.clear()
        if self._woken:
            self._woken = False
            signal_wakeup.unwatch(self._on_wakeup)
        _installed.pop(self, None)

    def _on_wakeup(self, signum: int) -> None:
        """On the wake-up thread: interrupt the command's query if the signal ends the process.

        It does when the handler Python will run is ours, or a nested run's trap that hands
        the signal down to ours, and ours hands it to the default action.
        """
        handler = signal.getsignal(signum)
        for _ in range(100):  # a chain of nested runs' traps; never a loop
            trap = getattr(handler, "__self__", None)
            if not isinstance(trap, KillSignalTrap) or handler != trap._handle:
                return  # a user's handler, KeyboardInterrupt, ignored: as without us
            if trap is self:
                break
            handler = trap._previous.get(signum)
        else:
            return
        if self._previous.get(signum) == signal.SIG_DFL:
            self.run.interrupt_command()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum, signal.SIG_DFL)
        if not self.run.in_own_process():
            deliver_previous(previous, signum, frame)
            return
        name = signal.Signals(signum).name
        if self._recording:  # a second signal while the first is being recorded
            try:
                self.run.abandon_flush()
            except Exception:
                logger.exception("monitorkit could not keep the records of a run ended by %s", name)
            self.uninstall()
            deliver_previous(previous, signum, frame)
            return
        self._recording = True
        try:
            self.run.killed(name, exit_code=128 + signum)
        except Exception:
            logger.exception("monitorkit could not record %s", name)
        finally:
            self._recording = False
        self.uninstall()
        deliver_previous(previous, signum, frame)


def deliver_previous(previous: Handler, signum: int, frame: FrameType | None) -> None:
    """Do what ``signum`` would have done had our handler never been installed."""
    if callable(previous):
        handler: Callable[[int, FrameType | None], Any] = previous
        handler(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


#: The traps installed in this process (a forked child takes them out: see above).
_installed: weakref.WeakKeyDictionary[KillSignalTrap, None] = weakref.WeakKeyDictionary()


def _uninstall_in_child() -> None:
    """Put back, in a forked child, what was there before each trap of the parent's runs."""
    if threading.current_thread() is not threading.main_thread():
        return
    for trap in reversed(list(_installed.keys())):  # the innermost run's first
        trap.uninstall()


forks.reset_in_child(_uninstall_in_child)
