"""What monitorkit does around a fork, so a forked child never blocks on its parent's state.

A child of ``fork`` inherits every lock and every library's state as they were at that instant,
but none of the threads that would have released them. A child that closes its inherited SQLite
connection hangs for good if the parent's sender thread was inside SQLite at that instant (its
global mutexes stay taken), and a lock a monitorkit thread held stays held. So, around every
``os.fork()`` (``multiprocessing``'s fork start method and ``Pool`` included):

1. **Quiet.** monitorkit's own threads (the sender, the heartbeats, Firebase's helper reads)
   do their work inside :func:`busy`; the fork waits, at most :data:`FORK_WAIT`, until none is
   inside, and they do not start anew until it is done. So no monitorkit thread is inside
   SQLite, libpq or an HTTP connection pool when the process is copied. Between retries they
   wait with :func:`pause`, outside it: a fork never waits out a backoff.
2. **Locks.** Each module registers the locks it owns with :func:`hold_locks`: they are taken
   before the fork (same bound) and released after it in the parent; the child gets new ones.
3. **The child.** Each module's reset runs: the child forgets the sender (a new one starts with
   its first run), what it inherited from the parent's runs is inert (see ``run.py``), and the
   kill-signal handlers of those runs are taken out (``killsignals.py``). SIGTERM, SIGINT and
   SIGHUP are held back by the forking thread from just before the fork until then: sent to the
   child before it could run (``Pool.terminate()`` right after starting a worker), CPython would
   drop it while it sets up the child, and a worker would wait on its queue forever.

A fork that finds something held past the bound goes ahead anyway: a fork is the command's,
and the command comes first.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

logger = logging.getLogger("monitorkit")

#: The longest a fork waits for monitorkit's threads to step out of their work, and then for
#: the locks monitorkit owns (a SQLite write is bounded by the sender's busy timeout, 1 s).
FORK_WAIT = 2.0


class Lock(Protocol):
    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...
    def release(self) -> None: ...


class _Quiet:
    """Counts the monitorkit threads at work; a fork waits until none is."""

    def __init__(self) -> None:
        self.condition = threading.Condition(threading.Lock())
        self.busy = 0
        self.forking = 0
        self.depth = threading.local()

    def enter(self, wait: bool = True) -> None:
        depth = getattr(self.depth, "value", 0)
        with self.condition:
            while wait and depth == 0 and self.forking:
                self.condition.wait()
            self.busy += 1
        self.depth.value = depth + 1

    def leave(self) -> None:
        depth = getattr(self.depth, "value", 0)
        if depth == 0:  # work begun before a fork, ending in the child: nothing counted here
            return
        self.depth.value = depth - 1
        with self.condition:
            self.busy -= 1
            self.condition.notify_all()

    def before_fork(self, deadline: float) -> bool:
        """Stop new work and wait for the current to end; return whether it did in time."""
        own = getattr(self.depth, "value", 0)  # a fork from inside our own work (a receiver)
        with self.condition:
            self.forking += 1
            while self.busy > own:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.condition.wait(left)
        return True

    def after_fork_in_parent(self) -> None:
        with self.condition:
            self.forking -= 1
            self.condition.notify_all()


_quiet = _Quiet()


@contextmanager
def busy() -> Iterator[None]:
    """Do monitorkit's work (I/O, a library's lock) with no fork in the middle of it.

    Waits while a fork is under way. Only monitorkit's own threads use it: the command's
    thread never waits here.
    """
    _quiet.enter()
    try:
        yield
    finally:
        _quiet.leave()


def lend_busy() -> Callable[[], None]:
    """Count a thread about to be started by busy work as busy already; return its release.

    The helper thread calls the returned function when done. Counted before it starts, so a
    fork that comes in between still waits for it, and it never waits for a fork itself (the
    busy thread that started it may be waiting for it).
    """
    quiet = _quiet
    with quiet.condition:
        quiet.busy += 1

    def release() -> None:
        if quiet is _quiet:  # not in a child that inherited the count
            with quiet.condition:
                quiet.busy -= 1
                quiet.condition.notify_all()

    return release


def pause(seconds: float) -> None:
    """Sleep outside :func:`busy` (a backoff between two attempts): a fork may happen now."""
    depth = getattr(_quiet.depth, "value", 0)
    for _ in range(depth):
        _quiet.leave()
    try:
        time.sleep(seconds)
    finally:
        for _ in range(depth):
            _quiet.enter()


class _HeldLocks:
    """Locks one module owns: taken before a fork, released after it, made anew in a child."""

    def __init__(self, locks: Callable[[], Iterable[Lock]], reset: Callable[[], None]) -> None:
        self.locks = locks
        self.reset = reset
        self.taken = threading.local()  # per forking thread: two threads may fork at once

    def take(self, deadline: float) -> None:
        taken: list[Lock] = []
        self.taken.locks = taken
        for lock in list(self.locks()):
            if lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                taken.append(lock)

    def release(self) -> None:
        taken: list[Lock] = getattr(self.taken, "locks", [])
        self.taken.locks = []
        for lock in reversed(taken):
            lock.release()


_held: list[_HeldLocks] = []
_child_resets: list[Callable[[], None]] = []


def hold_locks(locks: Callable[[], Iterable[Lock]], reset_in_child: Callable[[], None]) -> None:
    """Take ``locks()`` around every fork; in the child, call ``reset_in_child`` instead.

    ``locks`` is called at each fork (a module's lock is looked up then, as its code does), and
    ``reset_in_child`` makes new locks and forgets what the parent's threads were doing.
    """
    _held.append(_HeldLocks(locks, reset_in_child))


def reset_in_child(reset: Callable[[], None]) -> None:
    """Call ``reset`` in every forked child (state with no lock of its own to take)."""
    _child_resets.append(reset)


#: Held back across a fork (see above): the signals whose handlers a child puts back.
HELD_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


def _before_fork() -> None:
    deadline = time.monotonic() + FORK_WAIT
    _fork_state.quiet = _quiet.before_fork(deadline)
    for held in _held:
        held.take(deadline)
    _fork_state.mask = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)


def _restore_signal_mask() -> None:
    mask = getattr(_fork_state, "mask", None)
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _after_fork_in_parent() -> None:
    _restore_signal_mask()
    for held in reversed(_held):
        held.release()
    _quiet.after_fork_in_parent()
    if not getattr(_fork_state, "quiet", True):
        logger.debug("monitorkit: a fork went ahead while a monitorkit thread was still busy")


def _after_fork_in_child() -> None:
    global _quiet, _fork_state
    inherited = _fork_state
    _quiet = _Quiet()
    _fork_state = threading.local()
    try:
        for held in _held:
            held.taken = threading.local()
            _call_logged(held.reset)
        for reset in _child_resets:
            _call_logged(reset)
    finally:
        mask = getattr(inherited, "mask", None)
        if mask is not None:  # now a signal held back acts as without monitorkit
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _call_logged(function: Callable[[], None]) -> None:
    try:
        function()
    except Exception:  # a reset that fails must not break the user's child
        logger.exception("monitorkit: an after-fork reset failed")


_fork_state = threading.local()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
