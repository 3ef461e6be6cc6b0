"""The Realtime Database's REST client: where the database is, what a request and a reply are.

Every request goes through :meth:`RealtimeDatabaseClient.request` and one ``requests``
session from the shared transport (``monitorkit.transport``): a :class:`DeadlineRetry` on its
adapter retries connection errors, timeouts, 5xx and 429 (``Retry-After`` honoured) for every
method the client sends, until the sender's delivery deadline, and a :class:`DeadlineTimeout`
cuts each attempt's timeouts to the time left. This module adds what is Firebase's: the
location (and the emulator), the credentials (``auth.py``; a service account's token requests
go through the same retries and timeouts), paths, ETags, JSON replies and the hints for a 401,
403 or 404. What is left becomes one :class:`ReporterError`.

Every text that leaves this module is safe to log: ``requests`` puts the full URL, ``auth=``
query included, into its exception messages, so each is scrubbed first and raised ``from
None``; urllib3's own log lines are scrubbed by the transport.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import requests

from ... import redaction, retry
from ...retry import RetryPolicy
from ...transport.retries import (
    RETRY_STATUSES,
    DeadlineRetry,
    DeadlineTimeout,
    gave_up,
    gave_up_on_status,
    timed_out,
)
from ...transport.sessions import REPLY_TEXT_LIMIT, Sessions, mount, reply_text
from ..base import ReporterError
from .auth import Credentials

EMULATOR_HOST_ENV = "FIREBASE_DATABASE_EMULATOR_HOST"
#: What google-auth would retry at the token endpoint (with sleeps of its own): we retry it.
TOKEN_RETRY_STATUSES = RETRY_STATUSES | {408}
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
        self._sessions = Sessions(self.secrets)

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
        session = self._sessions.get(self._make_sessions)  # may read a key: a ReporterError
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
            raise ReporterError(self.redact(failure + gave_up(err))) from None
        return self._read(response, what, conditional)

    def redact(self, text: str) -> str:
        """Return ``text`` with this client's credentials removed."""
        return redaction.redact(text, self.secrets())

    def secrets(self) -> list[str]:
        """Return every credential string this client may have sent."""
        found = self.credentials.secrets()
        return found + [self.location.url_token] if self.location.url_token else found

    def close(self) -> None:
        self._sessions.close()

    # Inside.
    def _make_sessions(self) -> tuple[requests.Session, ...]:
        """Return the session to use, then the credential's token session, if it has one."""
        made: list[requests.Session] = []

        def token_session() -> requests.Session:
            """Make the session of a credential's token requests (only one that has any).

            A 5xx after its last attempt is raised, never handed to google-auth, whose own
            retries of it would sleep past the deadline.
            """
            retries = self._retries("The token endpoint", "POST", final_status=False)
            made.append(mount(requests.Session(), retries))
            return made[-1]

        try:
            session = self.credentials.session(token_session)
        except BaseException:
            for unused in made:
                unused.close()
            raise
        return (mount(session, self._retries("Firebase", "GET", "PUT", "PATCH")), *made)

    def _retries(self, service: str, *methods: str, final_status: bool = True) -> DeadlineRetry:
        """Return the retries of one session; ``final_status``: return the last 5xx/429."""
        return _Retry(
            policy=self.policy,
            service=service,
            redact=self.redact,
            allowed_methods=frozenset(methods),
            status_forcelist=RETRY_STATUSES if final_status else TOKEN_RETRY_STATUSES,
            raise_on_status=not final_status,
        )

    def _failure(self, what: str, err: requests.RequestException) -> str:
        where = self.location.describe()
        after = gave_up(err)
        if timed_out(err):
            cut = retry.remaining(math.inf) < max(self.timeout)
            source = "cut to the delivery deadline" if cut else "MONITORKIT_HTTP_TIMEOUT"
            return (
                f"{what} to {where} timed out (connect/read timeout {self.timeout[0]:.3g}/"
                f"{self.timeout[1]:.3g} s, {source}): {err}{after}"
            )
        if isinstance(err, requests.ConnectionError):
            return f"{what}: could not connect to {where}: {err}{after}"
        return f"{what} to {where} failed: {type(err).__name__}: {err}{after}"

    def _read(self, response: requests.Response, what: str, conditional: bool) -> Reply:
        status = response.status_code
        etag = response.headers.get("ETag")
        if 200 <= status < 300 or (status == 412 and conditional):
            return Reply(status, self._json(response, what), etag)
        error = _error_text(response, self.redact)
        if status in RETRY_STATUSES:  # urllib3 tried it again until the deadline said no
            after = gave_up_on_status(response, self.policy)
            raise ReporterError(f"{what}: Firebase answered HTTP {status}: {error}{after}")
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


class _Retry(DeadlineRetry):
    """The transport's retries, naming a request by its database path (no ``.json``)."""

    def what(self, method: str | None, url: str | None) -> str:
        return f"{method} {unquote(urlsplit(url or '').path).removesuffix('.json') or '/'}"


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _error_text(response: requests.Response, redact: Callable[[str], str]) -> str:
    """Return the server's ``{"error": ...}`` text, or whatever it sent: masked whole, then cut."""
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return redact(data["error"])[:REPLY_TEXT_LIMIT]
    return reply_text(response, redact) or response.reason or "no error text"
