"""Attempts until the delivery deadline: urllib3's ``Retry`` and ``Timeout``, bounded in time.

A session's adapter carries a :class:`DeadlineRetry`, which retries what urllib3 is told to
(``status_forcelist``, ``allowed_methods``; connection errors and timeouts), paced by a
``RetryPolicy`` and stopped by the thread's delivery deadline (``monitorkit.retry.deadline``),
and each request a :class:`DeadlineTimeout`, which cuts each attempt's ``(connect, read)``
timeout to the time left, so no attempt overruns the deadline by more than
:data:`MIN_ATTEMPT_TIMEOUT`. A ``Retry-After`` asking for more than the time left (or than
:data:`MAX_RETRY_AFTER`) ends the attempts at once. :func:`gave_up` and
:func:`gave_up_on_status` say, for an error message, how many attempts were made and why no
other followed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import requests
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util import Retry, Timeout

from .. import forks, redaction, retry
from ..retry import RetryPolicy

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("monitorkit")

#: Statuses that mean "not now" rather than "no": worth another attempt.
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
#: The longest ``Retry-After`` waited for; a server asking for more is not asked again.
MAX_RETRY_AFTER = 10.0
#: The shortest connect/read timeout of an attempt, however little time the deadline leaves.
MIN_ATTEMPT_TIMEOUT = 0.1


class GaveUp(MaxRetryError):
    """urllib3's "no more attempts", saying how many were made and what stopped them."""

    def __init__(
        self, pool: ConnectionPool | None, url: str, reason: Exception, attempts: int, why: str
    ) -> None:
        super().__init__(pool, url, reason)  # type: ignore[arg-type]
        self.attempts = attempts
        self.why = why


class DeadlineRetry(Retry):
    """urllib3's retries, paced by a ``RetryPolicy`` and stopped by the delivery deadline.

    urllib3 decides what is worth another attempt (``status_forcelist``, ``allowed_methods``);
    this class decides when to stop (:func:`stop_reason`) and how long to wait: the policy's
    backoff, or the server's ``Retry-After``, never past the deadline. Each retry is logged at
    INFO, naming the request by :meth:`what`. urllib3 builds a new instance per attempt
    through :meth:`new`, which carries the policy along.
    """

    #: How to wait between attempts (tests put a recorder here); a fork may happen meanwhile.
    pause: Callable[[float], None] = staticmethod(forks.pause)

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        service: str = "HTTP",
        redact: Callable[[str], str] | None = None,
        **kwargs: Any,
    ) -> None:
        for count in ("total", "connect", "read", "status", "other"):
            kwargs.setdefault(count, None)  # no count of urllib3's: stop_reason decides
        kwargs.setdefault("status_forcelist", RETRY_STATUSES)
        super().__init__(**kwargs)
        self.policy = policy or RetryPolicy()
        self.service = service
        self.redact = redact or redaction.redact

    def new(self, **kw: Any) -> Self:
        kw.setdefault("policy", self.policy)
        kw.setdefault("service", self.service)
        kw.setdefault("redact", self.redact)
        return super().new(**kw)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        return asked_wait(response)

    def what(self, method: str | None, url: str | None) -> str:
        """Name a request in a log line by method and path (never its query: it may hold auth=)."""
        return f"{method} {unquote(urlsplit(url or '').path) or '/'}"

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        asked = self.get_retry_after(response) if response is not None else None
        why = stop_reason(self.policy, len(new.history), asked)
        if why is not None:
            status = response.status if response is not None else None
            reason = error or ResponseError(ResponseError.SPECIFIC_ERROR.format(status_code=status))
            raise GaveUp(_pool, url or "", reason, len(new.history), why) from error
        return new

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        asked = self.get_retry_after(response) if response is not None else None
        wait = min(self.policy.delay(len(self.history), asked), retry.remaining(math.inf))
        last = self.history[-1]
        if last.error is not None:
            cause = self.redact(str(last.error))
        else:
            cause = f"HTTP {last.status} {getattr(response, 'reason', '') or ''}".strip()
        logger.info(
            "monitorkit: %s %s failed (attempt %d%s): %s; retrying in %.2f s",
            self.service,
            self.what(last.method, last.url),
            len(self.history),
            _attempts_left(self.policy),
            cause,
            wait,
        )
        self.pause(wait)


def stop_reason(policy: RetryPolicy, attempts: int, asked: float | None) -> str | None:
    """Say why no attempt follows attempt number ``attempts`` (``""``: they are spent).

    ``None`` means another one does: ``policy.attempts`` (or, without a deadline,
    ``retry.ATTEMPTS_WITHOUT_DEADLINE``) are not spent, the deadline has not come, and the
    wait the server asks for (``asked``) fits both before it and within MAX_RETRY_AFTER.
    """
    left = retry.remaining(math.inf)
    if asked is not None and asked > min(MAX_RETRY_AFTER, left):
        beyond = (
            "past the delivery deadline"
            if asked > left
            else f"over the {MAX_RETRY_AFTER:g} s monitorkit waits at most"
        )
        return f"the server asks to wait {asked:g} s (Retry-After), {beyond}"
    without_deadline = retry.current_deadline() is None
    limit = policy.attempts or (retry.ATTEMPTS_WITHOUT_DEADLINE if without_deadline else None)
    if limit is not None and attempts >= limit:
        return ""
    if left <= 0:
        return "the delivery deadline has come"
    return None


def _attempts_left(policy: RetryPolicy) -> str:
    """Say, for a retry's log line, what ends the attempts: a count or the deadline."""
    if policy.attempts is not None:
        return f" of {policy.attempts}"
    if retry.current_deadline() is None:
        return f" of {retry.ATTEMPTS_WITHOUT_DEADLINE}"
    return f", {retry.remaining(0.0):.2f} s left before the delivery deadline"


def gave_up(err: BaseException) -> str:
    """Say how many attempts ``err`` ended and why, from the GaveUp it wraps (``""``: none).

    ``requests`` wraps urllib3's error as its first argument, and google-auth wraps that.
    """
    wrapped: object = err
    while isinstance(wrapped, BaseException) and not isinstance(wrapped, GaveUp):
        wrapped = wrapped.args[0] if wrapped.args else None
    return _after(wrapped.attempts, wrapped.why) if isinstance(wrapped, GaveUp) else ""


def gave_up_on_status(response: requests.Response, policy: RetryPolicy) -> str:
    """Say how many attempts ended with ``response``, the last 5xx/429 a DeadlineRetry let back."""
    earlier = getattr(getattr(response.raw, "retries", None), "history", ())
    why = stop_reason(policy, len(earlier) + 1, asked_wait(response.raw)) or ""
    return _after(len(earlier) + 1, why)


def _after(attempts: int, why: str) -> str:
    return f" (gave up after {attempts} attempt(s){': ' + why if why else ''})"


def timed_out(err: requests.RequestException) -> bool:
    """Return whether ``err`` is a connect or read timeout (after retries, too)."""
    if isinstance(err, requests.Timeout):
        return True
    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(reason, ReadTimeoutError) or (
        isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError)
    )


class DeadlineTimeout(Timeout):
    """A ``(connect, read)`` timeout cut, for every attempt, to the time left before the deadline.

    ``requests`` hands a ``Timeout`` to urllib3 as it is; urllib3 clones it for each attempt and
    reads ``connect_timeout`` as it connects and ``read_timeout`` as it waits for the answer.
    """

    def __init__(self, connect: float, read: float) -> None:
        super().__init__(connect=connect, read=read)
        self.limits = (connect, read)

    def clone(self) -> Timeout:
        return DeadlineTimeout(*self.limits)

    @property
    def connect_timeout(self) -> float:
        return _cut(self.limits[0])

    @property
    def read_timeout(self) -> float:
        return _cut(self.limits[1])


def _cut(limit: float) -> float:
    left = retry.remaining(math.inf)
    return limit if left >= limit else max(MIN_ATTEMPT_TIMEOUT, left)


def asked_wait(response: BaseHTTPResponse) -> float | None:
    """Return the wait a ``Retry-After`` asks for (urllib3 reads seconds or an HTTP date)."""
    try:
        return _HEADER_READER.get_retry_after(response)
    except InvalidHeader:
        return None  # unreadable: the policy's backoff paces the next attempt


_HEADER_READER = Retry()  # a plain one: DeadlineRetry.get_retry_after calls asked_wait
