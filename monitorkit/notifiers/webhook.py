"""Alerts as a JSON POST: a Slack-compatible ``text`` plus the structured fields of the alert.

Retries are urllib3's: an ``HTTPAdapter`` with a ``Retry`` that allows ``POST`` and retries
connection errors, timeouts, 429 and 5xx with backoff (and ``Retry-After``). A retried POST may
arrive twice; the body's ``id`` (the transition's) lets a receiver drop the second one. With a
``secret``, the alert is signed with its time, so a captured request cannot be replayed later:
``X-Monitorkit-Timestamp: <Unix seconds>`` and ``X-Monitorkit-Signature: sha256=<hex
HMAC-SHA256 of "<timestamp>.<body>">``, as Slack and Stripe do; a receiver recomputes it and
refuses a timestamp more than ``TOLERANCE_SECONDS`` from its own clock
(docs/schedules-and-alerts.md has a receiver). Retries resend the same timestamp.

A webhook URL is a credential more often than not (Slack's and Discord's carry their token in
the path), so no text leaving this module holds its path or query, a header value or the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .. import __version__
from ..redaction import redact
from ..transitions import Transition
from .base import Notifier, NotifierError
from .message import build_alert

SIGNATURE_HEADER = "X-Monitorkit-Signature"
TIMESTAMP_HEADER = "X-Monitorkit-Timestamp"
#: How far a receiver should let a signed timestamp be from its clock (the documented window).
TOLERANCE_SECONDS = 300
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
#: Seconds of urllib3's backoff: 0, then 1, 2, 4... between attempts.
BACKOFF_FACTOR = 0.5
RETRY_STATUSES = (429, 500, 502, 503, 504)
_BODY_CHARS = 200


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header's value: ``sha256=``, hex HMAC-SHA256 of ``timestamp.body``."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


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
        self._session: requests.Session | None = None

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.hostname or '?'}" + (
            f":{parts.port}" if parts.port else ""
        )

    def session(self) -> requests.Session:
        """Return the session, made on first use with the retry policy mounted."""
        if self._session is None:
            retry = Retry(
                total=self.retries,
                backoff_factor=BACKOFF_FACTOR,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=frozenset({"POST"}),
                raise_on_status=False,  # the last response is judged below, with its status
                respect_retry_after_header=True,
            )
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=retry)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = f"monitorkit/{__version__}"
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

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
            text = self._safe(response.text[:_BODY_CHARS]) or ""
            raise NotifierError(
                f"{self.describe()} answered {response.status_code} {response.reason}"
                + (f": {text}" if text.strip() else "")
            )

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
