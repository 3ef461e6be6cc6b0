"""Fault injection for the local Realtime Database server: latency, canned answers, hangs, pauses.

Tests of clients under failure need a server that is slow, answers with errors or garbage, or
never answers at all. That state is shared by every request thread and switched from the test's
thread, so it lives here behind one lock, apart from the REST protocol (which never sees an
injected failure) and from the HTTP plumbing (which only asks it what to do with each request).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

MALFORMED_BODY = b'{"malformed": tru'


@dataclass(frozen=True)
class CannedResponse:
    """An encoded answer: injected by a fault, or the encoded result of a REST request."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Faults:
    """Failures to inject into answers, shared by all request threads.

    One condition guards everything, so `hang(False)`, `release()` (at stop) and the latency
    wait all wake promptly and never keep `stop()` waiting.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._latency = 0.0
        self._jitter = 0.0
        self._canned: list[CannedResponse] = []
        self._hanging = False
        self._paused = False
        self._released = False
        self._held = 0
        self._waiting = 0

    def set_latency(self, seconds: float, jitter: float = 0.0) -> None:
        with self._condition:
            self._latency = max(0.0, float(seconds))
            self._jitter = max(0.0, float(jitter))

    def queue(self, count: int, response: CannedResponse) -> None:
        with self._condition:
            self._canned.extend([response] * count)

    def hang(self, hanging: bool) -> None:
        with self._condition:
            self._hanging = hanging
            self._condition.notify_all()

    def pause(self, paused: bool) -> None:
        with self._condition:
            self._paused = paused
            self._condition.notify_all()

    def reset(self) -> None:
        with self._condition:
            self._latency, self._jitter, self._canned, self._hanging = 0.0, 0.0, [], False
            self._paused = False
            self._condition.notify_all()

    def arm(self) -> None:
        """Allow waiting again (at start)."""
        with self._condition:
            self._released = False

    def release(self) -> None:
        """Wake every held or delayed request for good (at stop)."""
        with self._condition:
            self._released = True
            self._condition.notify_all()

    def hold_if_hanging(self) -> bool:
        """Block while the server hangs; True if this request was held and must be dropped."""
        return self._hold("_hanging", "_held")

    def _hold(self, switch: str, count: str) -> bool:
        """Block while the flag ``switch`` is on (and the server runs), counted in ``count``;
        return whether this request was held. Hangs and pauses differ only in what the
        request does next: dropped, or answered."""
        with self._condition:
            if not getattr(self, switch) or self._released:
                return False
            setattr(self, count, getattr(self, count) + 1)
            try:
                self._condition.wait_for(lambda: not getattr(self, switch) or self._released)
            finally:
                setattr(self, count, getattr(self, count) - 1)
            return True

    @property
    def held(self) -> int:
        """How many requests `hang` is holding right now."""
        with self._condition:
            return self._held

    def wait_while_paused(self) -> None:
        """Block while the server is paused; the request then goes on as if it had just come."""
        self._hold("_paused", "_waiting")

    @property
    def waiting(self) -> int:
        """How many requests `pause` is holding right now."""
        with self._condition:
            return self._waiting

    def delay(self) -> None:
        """Wait the injected latency (give or take the jitter), cut short by `release`.

        The wait comes before the request is applied: with jitter, two requests sent close
        together on two connections may be applied in either order, as on a real network.
        """
        with self._condition:
            wait = self._latency + random.uniform(-self._jitter, self._jitter)
            if wait > 0:
                self._condition.wait_for(lambda: self._released, timeout=wait)

    def take_canned(self) -> CannedResponse | None:
        """Return the next injected answer, if any remain."""
        with self._condition:
            return self._canned.pop(0) if self._canned else None
