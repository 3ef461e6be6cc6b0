"""Retries with exponential backoff and jitter, until a deadline, shared by every reporter.

A reporter says which errors are worth another attempt (and may ask for a given delay, as a
``Retry-After`` header does); this module decides how long to wait and when to stop. It only
ever runs on the sender's thread, never on the command's.

When to stop is a *time*, not a count: the sender delivers each record under a deadline (the
flush bound after the record was made, see ``monitorkit/recording/sender.py``), and a write is tried
again for as long as another attempt can still start before it. A one-second blip of a backend
costs a record nothing; what is still undelivered at the deadline goes to the spool
(``monitorkit/recording/spool.py``). Without a deadline (a reporter used on its own) a write gets
:data:`ATTEMPTS_WITHOUT_DEADLINE` attempts.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from . import forks

T = TypeVar("T")

#: Attempts of a write made outside any delivery deadline.
ATTEMPTS_WITHOUT_DEADLINE = 3

_local = threading.local()


class RetryableError(Exception):
    """A failure worth another attempt; ``delay`` asks for a given wait (seconds)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class RetryPolicy:
    """How long between attempts: ``base * 2**n``, capped, with jitter; ``attempts`` caps them.

    ``attempts=None`` (the default) means "as many as fit before the deadline". A plain slotted
    class rather than a dataclass: every monitored command imports this module, and a frozen
    dataclass compiles its generated methods at import (about 0.5 ms on Python 3.11).
    """

    __slots__ = ("attempts", "base", "cap")

    def __init__(self, attempts: int | None = None, base: float = 0.1, cap: float = 1.0) -> None:
        self.attempts = attempts
        self.base = base
        self.cap = cap

    def __repr__(self) -> str:
        return f"RetryPolicy(attempts={self.attempts!r}, base={self.base!r}, cap={self.cap!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryPolicy):
            return NotImplemented
        return (self.attempts, self.base, self.cap) == (other.attempts, other.base, other.cap)

    def __hash__(self) -> int:
        return hash((self.attempts, self.base, self.cap))

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Return the wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if asked is not None:
            return float(max(asked, 0.0))
        backoff: float = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return backoff / 2 + random.uniform(0, backoff / 2)


@contextlib.contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """Let every retry on this thread stop at monotonic time ``at`` (``None``: no deadline)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = at
    try:
        yield
    finally:
        _local.deadline = previous


def current_deadline() -> float | None:
    """Return this thread's delivery deadline (monotonic seconds), if one is set."""
    value: float | None = getattr(_local, "deadline", None)
    return value


def remaining(default: float) -> float:
    """Return the seconds left before this thread's deadline (at least 0), or ``default``."""
    at = current_deadline()
    return default if at is None else max(0.0, at - time.monotonic())


def call_with_retries(
    func: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = forks.pause,
) -> T:
    """Call ``func`` until it returns; retry only on ``RetryableError``, until the deadline.

    The last ``RetryableError`` propagates once no further attempt fits (the deadline has
    passed, a ``Retry-After`` asks to wait beyond it, or ``policy.attempts`` are spent); any
    other exception propagates at once (a 400 will not become a 200 by asking again).
    """
    attempt = 1
    while True:
        try:
            return func()
        except RetryableError as err:
            at = current_deadline()
            limit = policy.attempts or (ATTEMPTS_WITHOUT_DEADLINE if at is None else None)
            if limit is not None and attempt >= limit:
                raise
            wait = policy.delay(attempt, err.delay)
            if at is not None:
                left = at - time.monotonic()
                if left <= 0 or (err.delay is not None and err.delay > left):
                    raise  # no attempt fits before the deadline: the spool takes it
                wait = min(wait, left)
            sleep(wait)
            attempt += 1
