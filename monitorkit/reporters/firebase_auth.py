"""Credentials for the Realtime Database REST API, chosen from ``FIREBASE_MONITORING``.

Three options, checked in this order (see ``docs/firebase.md``):

- ``CREDENTIALS``: path to a service-account JSON key. An OAuth2 access token is fetched from the
  key's ``token_uri`` with ``google-auth`` (an optional extra, imported only here and only when
  this option is used), refreshed before it expires, and sent as ``Authorization: Bearer``.
  Tokens are cached per key file for the whole process, so a run does not cost a token request.
- ``AUTH_TOKEN``: a legacy database secret or a Firebase ID token, sent as the ``auth=`` query
  parameter (the only place the REST API accepts those).
- nothing: requests go out bare and the database's security rules decide.

With ``FIREBASE_DATABASE_EMULATOR_HOST`` in effect, ``CREDENTIALS`` becomes the emulator's admin
credential ``Bearer owner``, as ``firebase-admin`` does: there is no point asking Google for a
token that a local emulator cannot check.

Every object here knows which strings it must never let out (:meth:`Credentials.secrets`), so
the HTTP layer can scrub them from error messages.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Mapping, MutableMapping
from typing import Any

from ..retry import RetryableError
from .base import ReporterError

#: The scopes an access token needs for the Realtime Database.
SCOPES = (
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/firebase.database",
)
INSTALL_HINT = "pip install monitorkit[google]"
EMULATOR_ADMIN_TOKEN = "owner"


class Credentials:
    """No credential: requests are sent as they are (open rules, or a local server)."""

    def apply(self, params: MutableMapping[str, str], headers: MutableMapping[str, str]) -> None:
        """Add this credential to one request's query ``params`` or ``headers``."""

    def secrets(self) -> list[str]:
        """Return every string this credential has put on the wire, to scrub from text."""
        return []

    def describe(self) -> str:
        """Name the credential in a log line, without its value."""
        return "no credentials"


class AuthTokenCredentials(Credentials):
    """A database secret or ID token, sent as ``auth=`` because the REST API wants it there."""

    def __init__(self, token: str) -> None:
        self._token = token

    def apply(self, params: MutableMapping[str, str], headers: MutableMapping[str, str]) -> None:
        params["auth"] = self._token

    def secrets(self) -> list[str]:
        return [self._token]

    def describe(self) -> str:
        return "AUTH_TOKEN"


class EmulatorAdminCredentials(Credentials):
    """The emulator's admin credential (``Bearer owner``), what ``firebase-admin`` sends it."""

    def apply(self, params: MutableMapping[str, str], headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = f"Bearer {EMULATOR_ADMIN_TOKEN}"

    def describe(self) -> str:
        return "emulator admin (FIREBASE_DATABASE_EMULATOR_HOST)"


class _TokenCache:
    """One key file's ``google-auth`` credentials and the tokens issued for them."""

    def __init__(self, google_credentials: Any) -> None:
        self.google_credentials = google_credentials
        self.lock = threading.Lock()
        self.issued: list[str] = []


_caches: dict[tuple[str, int, int], _TokenCache] = {}
_caches_lock = threading.Lock()


class ServiceAccountCredentials(Credentials):
    """A service-account key turned into OAuth2 access tokens (``Authorization: Bearer``).

    Nothing is read or imported until the first request, so a bad path or a missing
    ``google-auth`` surfaces as a :class:`ReporterError` in the sender, never at construction.
    """

    def __init__(self, path: str, timeout: tuple[float, float]) -> None:
        self.path = path
        self.timeout = timeout
        self._cache: _TokenCache | None = None

    def apply(self, params: MutableMapping[str, str], headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self.token()}"

    def token(self) -> str:
        """Return a valid access token, fetching a new one when none is left or it nears expiry."""
        cache = self._load()
        with cache.lock:
            google_credentials = cache.google_credentials
            if not google_credentials.valid:  # google-auth says expired ~4 minutes early
                self._refresh(google_credentials)
            token = str(google_credentials.token)
            if token not in cache.issued:
                cache.issued.append(token)
                del cache.issued[:-8]
            return token

    def secrets(self) -> list[str]:
        return list(self._cache.issued) if self._cache is not None else []

    def describe(self) -> str:
        google_credentials = getattr(self._cache, "google_credentials", None)
        email = getattr(google_credentials, "service_account_email", "")
        return f"service account {email}".strip() if email else "service account (CREDENTIALS)"

    def _load(self) -> _TokenCache:
        if self._cache is not None:
            return self._cache
        service_account = _import_google("google.oauth2.service_account")
        try:
            stat = os.stat(self.path)
        except OSError as err:
            raise ReporterError(
                f"FIREBASE_MONITORING['CREDENTIALS'] = {self.path!r} cannot be read "
                f"({err.strerror}); point it at the service-account JSON key file downloaded "
                "from the Firebase console (Project settings > Service accounts)."
            ) from None
        key = (os.path.realpath(self.path), stat.st_mtime_ns, stat.st_size)
        with _caches_lock:
            cache = _caches.get(key)
            if cache is None:
                cache = _TokenCache(self._read_key(service_account))
                _caches[key] = cache
        self._cache = cache
        return cache

    def _read_key(self, service_account: Any) -> Any:
        try:
            with open(self.path, encoding="utf-8") as file:
                info = json.load(file)
            if not isinstance(info, dict) or info.get("type", "service_account") != (
                "service_account"
            ):
                raise ValueError(
                    'it is not a service account key ("type" must be "service_account")'
                )
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (OSError, ValueError) as err:
            # Keep only the first line: key parsers must never echo key material.
            reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
            raise ReporterError(
                f"FIREBASE_MONITORING['CREDENTIALS'] = {self.path!r} is not a usable "
                f"service-account JSON key: {reason}"
            ) from None

    def _refresh(self, google_credentials: Any) -> None:
        exceptions = _import_google("google.auth.exceptions")
        request = _bounded_request(self.timeout)
        failure: Exception | None = None
        try:
            google_credentials.refresh(request)
        except exceptions.TransportError as err:
            failure = RetryableError(f"could not reach the token endpoint: {err}")
        except exceptions.RefreshError as err:
            text = f"the token endpoint refused the service account key: {err}"
            failure = (
                RetryableError(text)
                if getattr(err, "retryable", False)
                else (ReporterError(text + " (check FIREBASE_MONITORING['CREDENTIALS'])"))
            )
        finally:
            request.session.close()
        if failure is not None:
            raise failure  # outside the except blocks: no chained error keeps a token


def _import_google(module: str) -> Any:
    """Import part of ``google-auth``, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ReporterError(
            "FIREBASE_MONITORING['CREDENTIALS'] needs the google-auth package to turn the "
            f"service-account key into access tokens: {INSTALL_HINT}"
        ) from None


def _bounded_request(timeout: tuple[float, float]) -> Any:
    """Return a ``google-auth`` transport whose requests all use monitorkit's timeout."""
    import requests

    transport = _import_google("google.auth.transport.requests")
    bounded = timeout  # google-auth would otherwise wait up to 120 s for the token endpoint

    class BoundedRequest(transport.Request):  # type: ignore[misc, name-defined]
        def __call__(
            self,
            url: str,
            method: str = "GET",
            body: Any = None,
            headers: Any = None,
            timeout: Any = None,
            **kwargs: Any,
        ) -> Any:
            return super().__call__(url, method, body, headers, timeout=bounded, **kwargs)

    return BoundedRequest(requests.Session())


def credentials_from_settings(
    config: Mapping[str, Any], *, emulator: bool, timeout: tuple[float, float]
) -> Credentials:
    """Return the credential ``FIREBASE_MONITORING`` asks for (cheap: nothing is read yet)."""
    path = config.get("CREDENTIALS")
    token = config.get("AUTH_TOKEN")
    if path:
        if not isinstance(path, (str, os.PathLike)):
            raise ReporterError(
                "FIREBASE_MONITORING['CREDENTIALS'] must be the path of a service-account JSON "
                f"key file, not a {type(path).__name__}."
            )
        if emulator:
            return EmulatorAdminCredentials()
        return ServiceAccountCredentials(os.fspath(path), timeout)
    if token:
        if not isinstance(token, str):
            raise ReporterError(
                "FIREBASE_MONITORING['AUTH_TOKEN'] must be a string (a database secret or a "
                f"Firebase ID token), not a {type(token).__name__}."
            )
        return AuthTokenCredentials(token)
    return Credentials()


def clear_token_cache() -> None:
    """Forget every cached service-account token (for tests, and after rotating a key)."""
    with _caches_lock:
        _caches.clear()
