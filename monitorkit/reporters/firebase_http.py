"""The HTTP layer of the Firebase reporter: one place for URLs, timeouts, retries and errors.

Every request goes through :meth:`RealtimeDatabaseClient.request`, which owns the
``requests.Session``, sends the ``(connect, read)`` timeout, retries what is worth retrying
(connection errors, timeouts, 5xx, 429 with its ``Retry-After``) through ``monitorkit.retry``
until the sender's delivery deadline, and turns everything else into one :class:`ReporterError`.
Under a deadline no attempt overruns it by more than :data:`MIN_ATTEMPT_TIMEOUT` (its timeouts
are cut to the time left), and a ``Retry-After`` asking for more than the time left (or than
:data:`MAX_RETRY_AFTER`) ends the attempts at once.

Every text that leaves this module is safe to log: ``requests`` puts the full URL, ``auth=``
query included, into its exception messages, so each is scrubbed first, and no exception is
chained to one that was not.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import requests

from .. import retry
from ..retry import RetryableError, RetryPolicy, call_with_retries
from .base import ReporterError
from .firebase_auth import Credentials

logger = logging.getLogger("monitorkit")

EMULATOR_HOST_ENV = "FIREBASE_DATABASE_EMULATOR_HOST"
MASK = "***"
#: Statuses that mean "not now" rather than "no": worth another attempt.
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
#: The longest ``Retry-After`` waited for; a server asking for more is not asked again.
MAX_RETRY_AFTER = 10.0
#: The shortest connect/read timeout of an attempt, however little time the deadline leaves.
MIN_ATTEMPT_TIMEOUT = 0.1
_SECRET_PARAMS = re.compile(r"((?:^|[?&;\s'\"])(?:auth|access_token)=)[^&\s'\")]+", re.I)
_BEARER = re.compile(r"(Bearer\s+)[^\s'\",)]+", re.I)
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


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` without the given secrets (raw or URL-encoded) or any credential param.

    The patterns catch what no list can: an ``auth=`` or ``access_token=`` query parameter and a
    ``Bearer`` token, whatever their value.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update({secret, quote(secret, safe=""), quote_plus(secret), quote(secret)})
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    text = _SECRET_PARAMS.sub(lambda m: m.group(1) + MASK, text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


class _Urllib3UrlFilter(logging.Filter):
    """Scrub credential query parameters from urllib3's DEBUG lines (they show full URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        return True


_filter_lock = threading.Lock()
_filter_installed = False


def _guard_urllib3_logging() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("urllib3.connectionpool").addFilter(_Urllib3UrlFilter())
            _filter_installed = True


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
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.location = location
        self.credentials = credentials
        self.timeout = timeout
        self.policy = policy
        self._sleep = sleep
        self.session = session or requests.Session()
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
        """Send one request, retrying what is worth it; raise a loggable ReporterError.

        Attempts go on until the thread's delivery deadline (``retry.deadline``), or for
        ``retry.ATTEMPTS_WITHOUT_DEADLINE`` attempts without one.
        """
        what = f"{method} /{'/'.join(path)}"
        body = None if method == "GET" else _encode(value)
        attempts = 0
        last_error = ""

        def attempt() -> Reply:
            nonlocal attempts, last_error
            attempts += 1
            try:
                return self._send(method, path, body, dict(headers or {}), conditional, what)
            except RetryableError as err:
                last_error = str(err)
                left = retry.remaining(math.inf)
                if err.delay is not None and err.delay > min(MAX_RETRY_AFTER, left):
                    limit = (
                        "past the delivery deadline"
                        if err.delay > left
                        else f"over the {MAX_RETRY_AFTER:g} s monitorkit waits at most"
                    )
                    asked = f"{err}; it asks to wait {err.delay:g} s (Retry-After), {limit}"
                    raise _WaitTooLong(asked) from None
                raise

        def pause(delay: float) -> None:
            logger.info(
                "monitorkit: Firebase %s failed (attempt %d%s): %s; retrying in %.2f s",
                what,
                attempts,
                self._attempts_left(),
                last_error,
                delay,
            )
            self._sleep(delay)

        try:
            return call_with_retries(attempt, self.policy, sleep=pause)
        except RetryableError as err:
            message = f"{err} (gave up after {attempts} attempt(s){self._why_stopped()})"
        except _WaitTooLong as err:
            message = f"{err} (gave up after {attempts} attempt(s))"
        raise ReporterError(self.redact(message))  # no chain: the cause may hold a URL

    def _attempts_left(self) -> str:
        """Say, for a retry's log line, what ends the attempts: a count or the deadline."""
        if self.policy.attempts is not None:
            return f" of {self.policy.attempts}"
        if retry.current_deadline() is None:
            return f" of {retry.ATTEMPTS_WITHOUT_DEADLINE}"
        return f", {retry.remaining(0.0):.2f} s left before the delivery deadline"

    def _why_stopped(self) -> str:
        at = retry.current_deadline()
        if at is not None and time.monotonic() >= at - MIN_ATTEMPT_TIMEOUT:
            return ": the delivery deadline has come"
        return ""

    def _timeout(self) -> tuple[tuple[float, float], bool]:
        """Return this attempt's ``(connect, read)`` timeout and whether the deadline cut it."""
        connect, read = self.timeout
        left = retry.remaining(math.inf)
        if left >= max(connect, read):
            return self.timeout, False
        left = max(MIN_ATTEMPT_TIMEOUT, left)
        return (min(connect, left), min(read, left)), True

    def redact(self, text: str) -> str:
        """Return ``text`` with this client's credentials removed."""
        return scrub(text, self.secrets())

    def secrets(self) -> list[str]:
        """Return every credential string this client may have sent."""
        found = self.credentials.secrets()
        return found + [self.location.url_token] if self.location.url_token else found

    def describe(self) -> str:
        return f"{self.location.describe()} ({self.credentials.describe()})"

    def close(self) -> None:
        self.session.close()

    # Inside.
    def _send(
        self,
        method: str,
        path: Sequence[str],
        body: bytes | None,
        headers: dict[str, str],
        conditional: bool,
        what: str,
    ) -> Reply:
        params: dict[str, str] = {}
        if self.location.namespace:
            params["ns"] = self.location.namespace
        self.credentials.apply(params, headers)  # may fetch a token: Retryable/ReporterError
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        failure: Exception | None = None
        timeout, cut = self._timeout()
        try:
            response = self.session.request(
                method,
                self.location.url(path),
                params=params,
                data=body,
                headers=headers,
                timeout=timeout,
            )
        except requests.Timeout as err:
            source = "cut to the delivery deadline" if cut else "MONITORKIT_HTTP_TIMEOUT"
            failure = RetryableError(
                f"{what} to {self.location.describe()} timed out "
                f"(connect/read timeout {timeout[0]:.3g}/{timeout[1]:.3g} s, "
                f"{source}): {self.redact(str(err))}"
            )
        except requests.ConnectionError as err:
            failure = RetryableError(
                f"{what}: could not connect to {self.location.describe()}: {self.redact(str(err))}"
            )
        except requests.RequestException as err:
            failure = ReporterError(
                f"{what} to {self.location.describe()} failed: "
                f"{type(err).__name__}: {self.redact(str(err))}"
            )
        if failure is not None:
            raise failure  # raised outside the except block, so it chains to nothing
        return self._read(response, what, conditional)

    def _read(self, response: requests.Response, what: str, conditional: bool) -> Reply:
        status = response.status_code
        etag = response.headers.get("ETag")
        if 200 <= status < 300 or (status == 412 and conditional):
            return Reply(status, self._json(response, what), etag)
        error = self.redact(_error_text(response))
        if status in RETRY_STATUSES:
            raise RetryableError(
                f"{what}: Firebase answered HTTP {status}: {error}",
                delay=_retry_after(response.headers.get("Retry-After")),
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


class _WaitTooLong(Exception):
    """A ``Retry-After`` longer than the attempts may wait: give up now, not at the deadline."""


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _error_text(response: requests.Response) -> str:
    """Return the server's ``{"error": ...}`` text, or the start of whatever it sent."""
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])[:_ERROR_TEXT_LIMIT]
    text = response.content.decode("utf-8", "replace").strip()
    return text[:_ERROR_TEXT_LIMIT] or response.reason or "no error text"


def _retry_after(value: str | None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
