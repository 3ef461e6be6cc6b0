"""Retries with exponential backoff and jitter, shared by every reporter.

A reporter says which errors are worth another attempt (and may ask for a given delay, as a
``Retry-After`` header does); this module decides how long to wait and when to stop. It only
ever runs on the sender's thread, never on the command's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class RetryableError(Exception):
    """A failure worth another attempt; ``delay`` asks for a given wait (seconds)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts and how long between them: ``base * 2**n``, capped, with jitter."""

    attempts: int = 3
    base: float = 0.25
    cap: float = 4.0

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Return the wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if asked is not None:
            return float(min(max(asked, 0.0), self.cap * 4))
        backoff: float = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return backoff / 2 + random.uniform(0, backoff / 2)


def call_with_retries(
    func: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``func`` until it returns; retry only on ``RetryableError``.

    The last ``RetryableError`` propagates once the attempts are spent; any other
    exception propagates at once (a 400 will not become a 200 by asking again).
    """
    attempt = 1
    while True:
        try:
            return func()
        except RetryableError as err:
            if attempt >= policy.attempts:
                raise
            sleep(policy.delay(attempt, err.delay))
            attempt += 1
