"""The HTTP layer of the Firebase reporter: one place for URLs, timeouts, retries and errors.

Every request goes through :meth:`RealtimeDatabaseClient.request` and one ``requests``
session. The attempts are urllib3's: the session's adapter carries a :class:`DeadlineRetry`,
which retries connection errors, timeouts, 5xx and 429 (``Retry-After`` honoured) for every
method the client sends, paced by the reporter's ``RetryPolicy`` and stopped by the sender's
delivery deadline (``monitorkit.retry.deadline``), and a :class:`DeadlineTimeout`, which cuts
each attempt's ``(connect, read)`` timeout to the time left, so no attempt overruns the
deadline by more than :data:`MIN_ATTEMPT_TIMEOUT`. A ``Retry-After`` asking for more than the
time left (or than :data:`MAX_RETRY_AFTER`) ends the attempts at once. What is left becomes
one :class:`ReporterError`. A service account's session comes from ``firebase_auth`` (its
token requests go through the same retries and timeouts).

Every text that leaves this module is safe to log: ``requests`` puts the full URL, ``auth=``
query included, into its exception messages, so each is scrubbed first and raised ``from
None``; urllib3's own log lines are scrubbed by a filter.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
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

from ... import forks, redaction, retry
from ...retry import RetryPolicy
from ..base import ReporterError
from .auth import Credentials

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("monitorkit")

EMULATOR_HOST_ENV = "FIREBASE_DATABASE_EMULATOR_HOST"
#: Statuses that mean "not now" rather than "no": worth another attempt.
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
#: What google-auth would retry at the token endpoint (with sleeps of its own): we retry it.
TOKEN_RETRY_STATUSES = RETRY_STATUSES | {408}
#: The longest ``Retry-After`` waited for; a server asking for more is not asked again.
MAX_RETRY_AFTER = 10.0
#: The shortest connect/read timeout of an attempt, however little time the deadline leaves.
MIN_ATTEMPT_TIMEOUT = 0.1
_ERROR_TEXT_LIMIT = 300
_HINTS = {
    401: "check the credential in FIREBASE_MONITORING (AUTH_TOKEN or CREDENTIALS) and the "
    "database's security rules",
    403: "check the credential in FIREBASE_MONITORING and the database's security rules",
    404: "check FIREBASE_MONITORING['DATABASE_URL'] (or NAME): no database answers there",
}


@dataclass(frozen=True)
class DatabaseLocation:
    """Where the database is: base URL (no trailing slash) and the ``ns`` query, if any."""

    base_url: str
    namespace: str | None = None
    url_token: str | None = None  # an ``auth=`` found in DATABASE_URL (used when nothing else is)
    emulator: bool = False  # FIREBASE_DATABASE_EMULATOR_HOST redirected us

    def url(self, path: Sequence[str]) -> str:
        """Return the REST URL of ``path`` (a sequence of keys, each percent-encoded)."""
        return f"{self.base_url}/{'/'.join(quote(key, safe='') for key in path)}.json"

    def describe(self) -> str:
        """Return the URL for log lines (never with a credential)."""
        return f"{self.base_url}/?ns={self.namespace}" if self.namespace else self.base_url


def resolve_location(
    config: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> DatabaseLocation:
    """Return the database's location from ``FIREBASE_MONITORING``, honouring the emulator.

    Order: ``DATABASE_URL``, then ``NAME`` when it is a URL (or a host name with a dot), then
    ``https://<NAME>.firebaseio.com``. ``FIREBASE_DATABASE_EMULATOR_HOST=host:port`` turns an
    https URL into ``http://host:port`` with ``ns`` = the URL's first DNS label, exactly as
    ``firebase-admin`` does; an http URL is taken as it is (a local server or emulator).
    """
    environ = os.environ if environ is None else environ
    raw = config.get("DATABASE_URL") or ""
    name = config.get("NAME") or ""
    if not isinstance(raw, str) or not isinstance(name, str):
        raise ReporterError(
            "FIREBASE_MONITORING['DATABASE_URL'] and ['NAME'] must be strings, e.g. "
            "'https://<db>.firebaseio.com' or '<db>'."
        )
    if not raw:
        name = name.strip()
        if not name:
            raise ReporterError(
                "FIREBASE_MONITORING names no database: add 'DATABASE_URL' (e.g. "
                "'https://<db>.firebaseio.com') or 'NAME' (the database name)."
            )
        if "://" in name:
            raw = name
        elif "." in name:
            raw = f"https://{name}"
        else:
            raw = f"https://{name}.firebaseio.com"
    parts = urlsplit(raw.strip())
    netloc = parts.netloc.rpartition("@")[2]  # never keep user:password from a URL
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = f"{parts.scheme}://{netloc}" if parts.scheme else netloc or "(empty)"
        raise ReporterError(
            f"FIREBASE_MONITORING's database URL {shown!r} is not an http(s) URL; use e.g. "
            "'https://<db>.firebaseio.com' or 'https://<db>.<region>.firebasedatabase.app'."
        )
    query = parse_qs(parts.query)
    namespace = (query.get("ns") or [""])[0] or None
    url_token = (query.get("auth") or query.get("access_token") or [""])[0] or None
    emulator_host = (environ.get(EMULATOR_HOST_ENV) or "").strip()
    if emulator_host and parts.scheme == "https":
        if "//" in emulator_host:
            raise ReporterError(
                f'{EMULATOR_HOST_ENV}="{emulator_host}" must be host:port, e.g. '
                "localhost:9000 (no scheme)."
            )
        return DatabaseLocation(
            f"http://{emulator_host}", parts.hostname.split(".")[0], url_token, emulator=True
        )
    return DatabaseLocation(
        f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}", namespace, url_token
    )


class _Urllib3UrlFilter(logging.Filter):
    """Scrub urllib3's log lines (they show full URLs) and quieten its retry warnings.

    urllib3 logs a WARNING for each connection retry, which an application's handlers would
    show as a problem; monitorkit already logs every retry at INFO, so urllib3's becomes DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redaction.redact(a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redaction.redact(record.msg)
        if hasattr(record, "__urllib3-retry-warning"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_filter_lock = threading.Lock()
_filter_installed = False


def _guard_urllib3_logging() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            for name in ("urllib3.connectionpool", "urllib3.util.retry"):
                logging.getLogger(name).addFilter(_Urllib3UrlFilter())
            _filter_installed = True


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
    this class decides when to stop (:func:`_stop_reason`) and how long to wait: the policy's
    backoff, or the server's ``Retry-After``, never past the deadline. urllib3 builds a new
    instance per attempt through :meth:`new`, which carries the policy along.
    """

    #: How to wait between attempts (tests put a recorder here); a fork may happen meanwhile.
    pause: Callable[[float], None] = staticmethod(forks.pause)

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        service: str = "Firebase",
        redact: Callable[[str], str] | None = None,
        **kwargs: Any,
    ) -> None:
        for count in ("total", "connect", "read", "status", "other"):
            kwargs.setdefault(count, None)  # no count of urllib3's: _stop_reason decides
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
        return _asked_wait(response)

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
        why = _stop_reason(self.policy, len(new.history), asked)
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
            _what(last.method, last.url),
            len(self.history),
            _attempts_left(self.policy),
            cause,
            wait,
        )
        self.pause(wait)


def _stop_reason(policy: RetryPolicy, attempts: int, asked: float | None) -> str | None:
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


def _what(method: str | None, url: str | None) -> str:
    """Name a request in a log line by method and path (never its query: it may hold auth=)."""
    path = unquote(urlsplit(url or "").path)
    return f"{method} {path.removesuffix('.json') or '/'}"


def _gave_up(err: BaseException) -> str:
    """Say how many attempts ``err`` ended and why, from the GaveUp it wraps (if any).

    ``requests`` wraps urllib3's error as its first argument, and google-auth wraps that.
    """
    wrapped: object = err
    while isinstance(wrapped, BaseException) and not isinstance(wrapped, GaveUp):
        wrapped = wrapped.args[0] if wrapped.args else None
    return _after(wrapped.attempts, wrapped.why) if isinstance(wrapped, GaveUp) else ""


def _after(attempts: int, why: str) -> str:
    return f" (gave up after {attempts} attempt(s){': ' + why if why else ''})"


def _timed_out(err: requests.RequestException) -> bool:
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


@dataclass(frozen=True)
class Reply:
    """A successful answer (or a 412 to a conditional write): status, JSON value, ETag."""

    status: int
    value: Any
    etag: str | None = None


class RealtimeDatabaseClient:
    """Send REST requests to one database with one session, timeout and retry policy."""

    def __init__(
        self,
        location: DatabaseLocation,
        credentials: Credentials,
        *,
        timeout: tuple[float, float],
        policy: RetryPolicy,
    ) -> None:
        self.location = location
        self.credentials = credentials
        self.timeout = timeout
        self.policy = policy
        self._sessions: tuple[requests.Session, ...] | None = None  # the one to use first
        self._lock = threading.Lock()
        _clients.add(self)
        _guard_urllib3_logging()

    # The verbs the reporter uses.
    def get(self, path: Sequence[str], *, etag: bool = False) -> Reply:
        """Read ``path``; with ``etag``, ask for the ETag a conditional write needs."""
        headers = {"X-Firebase-ETag": "true"} if etag else {}
        return self.request("GET", path, headers=headers)

    def put(self, path: Sequence[str], value: Any, *, if_match: str | None = None) -> Reply:
        """Replace ``path``; with ``if_match``, a 412 comes back as a reply, not an error."""
        headers = {"if-match": if_match} if if_match is not None else {}
        return self.request("PUT", path, value, headers=headers, conditional=if_match is not None)

    def patch(self, path: Sequence[str], value: Mapping[str, Any]) -> Reply:
        """Update the named children of ``path`` (keys may be slash paths: one atomic write)."""
        return self.request("PATCH", path, value)

    # The one place requests are made.
    def request(
        self,
        method: str,
        path: Sequence[str],
        value: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        conditional: bool = False,
    ) -> Reply:
        """Send one request (urllib3 retries it); raise a loggable ReporterError.

        Attempts go on until the thread's delivery deadline (``retry.deadline``), or for
        ``retry.ATTEMPTS_WITHOUT_DEADLINE`` attempts without one.
        """
        what = f"{method} /{'/'.join(path)}"
        params: dict[str, str] = {}
        if self.location.namespace:
            params["ns"] = self.location.namespace
        sent = dict(headers or {})
        self.credentials.apply(params, sent)
        body = None if method == "GET" else _encode(value)
        if body is not None:
            sent["Content-Type"] = "application/json; charset=utf-8"
        session = self._session()  # a service account's key is read here: may be a ReporterError
        try:
            response = session.request(
                method,
                self.location.url(path),
                params=params,
                data=body,
                headers=sent,
                timeout=DeadlineTimeout(*self.timeout),  # type: ignore[arg-type]  # passed as is
            )
        except requests.RequestException as err:
            raise ReporterError(self.redact(self._failure(what, err))) from None
        except Exception as err:
            failure = self.credentials.refresh_failure(err)  # google-auth's, for a token
            if failure is None:
                raise
            raise ReporterError(self.redact(failure + _gave_up(err))) from None
        return self._read(response, what, conditional)

    def redact(self, text: str) -> str:
        """Return ``text`` with this client's credentials removed."""
        return redaction.redact(text, self.secrets())

    def secrets(self) -> list[str]:
        """Return every credential string this client may have sent."""
        found = self.credentials.secrets()
        return found + [self.location.url_token] if self.location.url_token else found

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, None
        for session in sessions or ():
            session.close()

    # Inside.
    def _session(self) -> requests.Session:
        """Return the session, made on first use with the retrying adapter mounted."""
        with self._lock:
            if self._sessions is None:
                made: list[requests.Session] = []

                def token_session() -> requests.Session:
                    """Make the session of a credential's token requests (only one that has any).

                    A 5xx after its last attempt is raised, never handed to google-auth, whose
                    own retries of it would sleep past the deadline.
                    """
                    tokens = requests.Session()
                    _mount(tokens, self._retries("The token endpoint", "POST", final_status=False))
                    made.append(tokens)
                    return tokens

                try:
                    session = self.credentials.session(token_session)
                except BaseException:
                    for unused in made:
                        unused.close()
                    raise
                _mount(session, self._retries("Firebase", "GET", "PUT", "PATCH"))
                self._sessions = (session, *made)
            return self._sessions[0]

    def _retries(self, service: str, *methods: str, final_status: bool = True) -> DeadlineRetry:
        """Return the retries of one session; ``final_status``: return the last 5xx/429."""
        return DeadlineRetry(
            policy=self.policy,
            service=service,
            redact=self.redact,
            allowed_methods=frozenset(methods),
            status_forcelist=RETRY_STATUSES if final_status else TOKEN_RETRY_STATUSES,
            raise_on_status=not final_status,
        )

    def _failure(self, what: str, err: requests.RequestException) -> str:
        where = self.location.describe()
        gave_up = _gave_up(err)
        if _timed_out(err):
            cut = retry.remaining(math.inf) < max(self.timeout)
            source = "cut to the delivery deadline" if cut else "MONITORKIT_HTTP_TIMEOUT"
            return (
                f"{what} to {where} timed out (connect/read timeout {self.timeout[0]:.3g}/"
                f"{self.timeout[1]:.3g} s, {source}): {err}{gave_up}"
            )
        if isinstance(err, requests.ConnectionError):
            return f"{what}: could not connect to {where}: {err}{gave_up}"
        return f"{what} to {where} failed: {type(err).__name__}: {err}{gave_up}"

    def _read(self, response: requests.Response, what: str, conditional: bool) -> Reply:
        status = response.status_code
        etag = response.headers.get("ETag")
        if 200 <= status < 300 or (status == 412 and conditional):
            return Reply(status, self._json(response, what), etag)
        error = _cut_text(self.redact(_error_text(response)))  # masked whole, then cut
        if status in RETRY_STATUSES:  # urllib3 tried it again until _stop_reason said no
            earlier = getattr(getattr(response.raw, "retries", None), "history", ())
            asked = _asked_wait(response.raw)
            why = _stop_reason(self.policy, len(earlier) + 1, asked) or ""
            raise ReporterError(
                f"{what}: Firebase answered HTTP {status}: {error}{_after(len(earlier) + 1, why)}"
            )
        hint = _HINTS.get(status)
        raise ReporterError(
            f"Firebase refused {what} (HTTP {status}): {error}" + (f"; {hint}" if hint else "")
        )

    def _json(self, response: requests.Response, what: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            raise ReporterError(
                f"{what}: Firebase answered HTTP {response.status_code} with a body that is not "
                f"JSON ({len(response.content)} bytes, Content-Type "
                f"{response.headers.get('Content-Type', 'none')!r}); is DATABASE_URL the "
                "database itself and not a proxy or login page?"
            ) from None


def _mount(session: requests.Session, retries: DeadlineRetry) -> None:
    """Give ``session`` the retrying adapter, and credentials from the settings only.

    Without an ``auth`` of its own, ``requests`` would look up ``~/.netrc`` before every
    request and send any login it found for the host: a credential nobody configured for
    monitorkit (and a file read and two imports on a short command's way out).
    """
    adapter = HTTPAdapter(max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.auth = _settings_only


def _settings_only(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request  # the credential was put on the request by ``Credentials.apply``


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _error_text(response: requests.Response) -> str:
    """Return the server's ``{"error": ...}`` text, or whatever it sent (to cut once masked)."""
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    text = response.content.decode("utf-8", "replace").strip()
    return text or response.reason or "no error text"


def _cut_text(text: str) -> str:
    return text[:_ERROR_TEXT_LIMIT]


def _asked_wait(response: BaseHTTPResponse) -> float | None:
    """Return the wait a ``Retry-After`` asks for (urllib3 reads seconds or an HTTP date)."""
    try:
        return _HEADER_READER.get_retry_after(response)
    except InvalidHeader:
        return None  # unreadable: the policy's backoff paces the next attempt


_HEADER_READER = Retry()  # a plain one: DeadlineRetry.get_retry_after calls this function


#: The clients alive in this process: a forked child drops their sessions (see below).
_clients: weakref.WeakSet[RealtimeDatabaseClient] = weakref.WeakSet()


def _forget_sessions_after_fork() -> None:
    """In a forked child: new locks, and no session of the parent's.

    The parent's pooled connections are the parent's: a request of the child on one would mix
    the two processes' bytes on one socket. They are dropped, not closed (closing sends
    nothing, but what is the parent's is left alone); a child's own run makes its own client.
    """
    global _filter_lock
    _filter_lock = threading.Lock()
    for client in list(_clients):
        client._lock = threading.Lock()
        client._sessions = None


forks.hold_locks(
    lambda: [_filter_lock, *(client._lock for client in list(_clients))],
    _forget_sessions_after_fork,
)
