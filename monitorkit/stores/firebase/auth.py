"""Credentials for the Realtime Database REST API, chosen from ``FIREBASE_MONITORING``.

Three options, checked in this order (see ``docs/firebase.md``):

- ``CREDENTIALS``: path to a service-account JSON key. Requests go through ``google-auth``'s
  ``AuthorizedSession`` (an optional extra, imported only here and only when this option is
  used), which fetches an OAuth2 access token from the key's ``token_uri``, refreshes it before
  it expires and sends it as ``Authorization: Bearer``. The key's credentials object, which
  holds the token, is kept per key file for the whole process, so a run does not cost a token
  request.
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
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import requests

from ... import forks
from ..base import ReporterError

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

    def session(self, token_session: Callable[[], requests.Session]) -> requests.Session:
        """Return the session to send requests with; ``token_session()`` makes one for tokens."""
        return requests.Session()

    def refresh_failure(self, err: Exception) -> str | None:
        """Return what ``err`` says if it is a failure to get a token, else ``None``."""
        return None

    def secrets(self) -> list[str]:
        """Return every string this credential has put on the wire, to scrub from text."""
        return []


class AuthTokenCredentials(Credentials):
    """A database secret or ID token, sent as ``auth=`` because the REST API wants it there."""

    def __init__(self, token: str) -> None:
        self._token = token

    def apply(self, params: MutableMapping[str, str], headers: MutableMapping[str, str]) -> None:
        params["auth"] = self._token

    def secrets(self) -> list[str]:
        return [self._token]


class EmulatorAdminCredentials(Credentials):
    """The emulator's admin credential (``Bearer owner``), what ``firebase-admin`` sends it."""

    def apply(self, params: MutableMapping[str, str], headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = f"Bearer {EMULATOR_ADMIN_TOKEN}"


#: One google-auth credentials object (and so one token) per key file version, per process.
_loaded: dict[tuple[str, int, int], Any] = {}
_loaded_lock = threading.Lock()


def _new_loaded_lock() -> None:
    global _loaded_lock
    _loaded_lock = threading.Lock()


forks.hold_locks(lambda: [_loaded_lock], _new_loaded_lock)


class ServiceAccountCredentials(Credentials):
    """A service-account key, sent as OAuth2 access tokens by an ``AuthorizedSession``.

    Nothing is read or imported until the first request, so a bad path or a missing
    ``google-auth`` surfaces as a :class:`ReporterError` in the sender, never at construction.
    """

    def __init__(self, path: str, timeout: tuple[float, float]) -> None:
        self.path = path
        self.timeout = timeout
        self._google: Any = None

    def session(self, token_session: Callable[[], requests.Session]) -> requests.Session:
        """Return an ``AuthorizedSession`` whose token requests go through ``token_session()``.

        Each token request gets the timeout of the request that needed it (cut to the delivery
        deadline by the HTTP layer); ``refresh_timeout`` only says the same to google-auth
        versions that read it. A 401 gets one new token and one more try, not two.
        """
        transport = _import_google("google.auth.transport.requests")
        self._google = self._load()
        session: requests.Session = transport.AuthorizedSession(
            self._google,
            auth_request=transport.Request(token_session()),
            max_refresh_attempts=1,
            refresh_timeout=max(self.timeout),
        )
        return session

    def refresh_failure(self, err: Exception) -> str | None:
        exceptions = _import_google("google.auth.exceptions")
        if isinstance(err, exceptions.TransportError):
            return f"could not reach the token endpoint: {err}"
        if isinstance(err, exceptions.RefreshError) and getattr(err, "retryable", False):
            return f"the token endpoint could not issue a token: {err}"
        if isinstance(err, exceptions.RefreshError):
            return (
                f"the token endpoint refused the service account key: {err} "
                "(check FIREBASE_MONITORING['CREDENTIALS'])"
            )
        return None

    def secrets(self) -> list[str]:
        token = getattr(self._google, "token", None)
        return [str(token)] if token else []

    def _load(self) -> Any:
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
        with _loaded_lock:
            if key not in _loaded:
                _loaded[key] = self._read_key(service_account)
            return _loaded[key]

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


def _import_google(module: str) -> Any:
    """Import part of ``google-auth``, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ReporterError(
            "FIREBASE_MONITORING['CREDENTIALS'] needs the google-auth package to turn the "
            f"service-account key into access tokens: {INSTALL_HINT}"
        ) from None


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
    """Forget every loaded key and the token it holds (for tests)."""
    with _loaded_lock:
        _loaded.clear()
