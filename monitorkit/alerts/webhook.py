"""Alerts as a JSON POST: a Slack-compatible ``text`` plus the structured fields of the alert.

Retries are urllib3's: an ``HTTPAdapter`` with a ``Retry`` that allows ``POST`` and retries
connection errors, timeouts, 429 and 5xx with backoff (and ``Retry-After``), ``retries`` times:
the count the settings document, not the sender's delivery deadline (a watcher has none). The
session, its netrc guard, the scrubbing of urllib3's log lines and fork safety are the shared
transport's (``monitorkit.transport.sessions``). A retried POST may arrive twice; the body's
``id`` (the transition's) lets a receiver drop the second one. With a ``secret``, the alert is
signed with its time, so a captured request cannot be replayed later: ``X-Monitorkit-Timestamp:
<Unix seconds>`` and ``X-Monitorkit-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``,
as Slack and Stripe do; a receiver recomputes it and refuses a timestamp more than
``TOLERANCE_SECONDS`` from its own clock (docs/schedules-and-alerts.md has a receiver). Retries
resend the same timestamp.

A webhook URL is a credential more often than not (Slack's and Discord's carry their token in
the path), so no text leaving this module holds its path or query, a header value or the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from ..conf import show, timeout_pair
from ..redaction import redact
from ..transitions import Transition
from ..transport.retries import MAX_RETRY_AFTER
from ..transport.sessions import Sessions, mount, reply_text
from ..version import __version__
from .base import Notifier, NotifierError, Report, unknown_keys
from .message import build_alert

SIGNATURE_HEADER = "X-Monitorkit-Signature"
TIMESTAMP_HEADER = "X-Monitorkit-Timestamp"
#: How far a receiver should let a signed timestamp be from its clock (the documented window).
TOLERANCE_SECONDS = 300
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
#: The most retries and the longest timeout ``MONITORKIT_ALERTS`` may ask for.
MAX_RETRIES = 5
MAX_TIMEOUT = 600.0
_KEYS = ("url", "timeout", "retries", "secret", "headers")
#: Seconds of urllib3's backoff: 0, then 1, 2, 4... between attempts.
BACKOFF_FACTOR = 0.5
RETRY_STATUSES = (429, 500, 502, 503, 504)


class CappedRetry(Retry):
    """urllib3's retries, waiting at most :data:`MAX_RETRY_AFTER` for a ``Retry-After``.

    A watcher sends alerts one after another: a server asking for an hour would hold every
    other alert for that hour. Waiting no longer than the cap, the retries run out sooner and
    the alert's channel is retried later by the delivery's own backoff (``delivery.py``).
    """

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        asked = super().get_retry_after(response)
        return None if asked is None else min(asked, MAX_RETRY_AFTER)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header's value: ``sha256=``, hex HMAC-SHA256 of ``timestamp.body``."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def _one_webhook(entry: Any, where: str, report: Report) -> WebhookNotifier | None:
    if not isinstance(entry, dict):
        report(f"{where} must be a dict, not a {type(entry).__name__}.")
        return None
    if (why := unknown_keys(entry, _KEYS, where)) is not None:
        report(why)
    url = entry.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        not isinstance(url, str)
        or parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
    ):
        # The URL itself is never shown: its path is often the credential.
        report(f"{where}['url'] must be an http(s) URL: this webhook is left out.")
        return None
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT
    if "timeout" in entry:
        verdict = timeout_pair(MAX_TIMEOUT)(entry["timeout"])
        if verdict.value is None:
            report(f"{where}['timeout'] {verdict.problem} {DEFAULT_TIMEOUT:g} is used.")
        else:
            timeout = verdict.value
    retries = entry.get("retries", DEFAULT_RETRIES)
    if type(retries) is not int or not 0 <= retries <= MAX_RETRIES:
        report(
            f"{where}['retries'] must be a whole number from 0 to {MAX_RETRIES}, not "
            f"{show(retries)}; {DEFAULT_RETRIES} is used.",
        )
        retries = DEFAULT_RETRIES
    secret = entry.get("secret")
    if secret is not None and not (isinstance(secret, str) and secret):
        report(f"{where}['secret'] must be a non-empty string: bodies go unsigned.")
        secret = None
    headers = entry.get("headers") or {}
    if not (
        isinstance(headers, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        report(f"{where}['headers'] must be a dict of strings: none are sent.")
        headers = {}
    return WebhookNotifier(url, timeout=timeout, retries=retries, secret=secret, headers=headers)


class WebhookNotifier(Notifier):
    """POST each alert as JSON to ``url``; owns its session, timeout and retry policy."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        secret: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.secret = secret
        self.headers = dict(headers or {})
        self._sessions = Sessions(self._secrets)

    @classmethod
    def from_settings(cls, entry: Any, where: str, report: Report) -> list[Notifier]:
        """A dict (``url``, ``timeout``, ``retries``, ``secret``, ``headers``) or a list of them."""
        entries = entry if isinstance(entry, (list, tuple)) else [entry]
        found: list[Notifier] = []
        for number, one in enumerate(entries):
            notifier = _one_webhook(
                one, where + (f"[{number}]" if entries is entry else ""), report
            )
            if notifier is not None:
                found.append(notifier)
        return found

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.hostname or '?'}" + (
            f":{parts.port}" if parts.port else ""
        )

    def session(self) -> requests.Session:
        """Return the session, made on first use with the retry policy mounted."""
        return self._sessions.get(self._make_session)

    def close(self) -> None:
        self._sessions.close()

    def body(self, transition: Transition) -> bytes:
        """Return the JSON body: ``text`` (what Slack shows) and the alert's fields."""
        alert = build_alert(transition, self._credentials())
        payload = {"text": alert.text, **alert.fields()}
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def send(self, transition: Transition) -> None:
        """POST the alert; anything but a 2xx after the retries is a NotifierError."""
        body = self.body(transition)
        headers = {"Content-Type": "application/json", **self.headers}
        if self.secret:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(self.secret, timestamp, body)
        try:
            response = self.session().post(
                self.url, data=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as err:
            raise NotifierError(
                f"{self.describe()} failed after {self.retries} retries: "
                f"{type(err).__name__}: {self._safe(str(err))}"
            ) from None
        if not 200 <= response.status_code < 300:
            text = reply_text(response, self._safe)
            raise NotifierError(
                f"{self.describe()} answered {response.status_code} {response.reason}"
                + (f": {text}" if text else "")
            )

    def _make_session(self) -> tuple[requests.Session]:
        retry = CappedRetry(
            total=self.retries,
            backoff_factor=BACKOFF_FACTOR,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"POST"}),
            raise_on_status=False,  # the last response is judged in send, with its status
            respect_retry_after_header=True,
        )
        session = mount(requests.Session(), retry)
        session.headers["User-Agent"] = f"monitorkit/{__version__}"
        return (session,)

    def _credentials(self) -> tuple[str, ...]:
        """Return the HMAC key and the header values: never in a body, nor in an error."""
        return tuple(v for v in (self.secret, *self.headers.values()) if v)

    def _secrets(self) -> tuple[str, ...]:
        """Return what no error text may hold: the credentials, the URL's path and query."""
        parts = urlsplit(self.url)
        values = (parts.path.strip("/"), parts.query, parts.username, parts.password)
        return self._credentials() + tuple(v for v in values if v)

    def _safe(self, text: str) -> str:
        return redact(text, self._secrets())
