"""``MONITORKIT_ALERTS``: which notifiers alerts go through, read when asked (never at import).

::

    MONITORKIT_ALERTS = {
        "email": {"to": ["ops@example.com"], "from": "monitor@example.com"},  # or True: ADMINS
        "webhook": {"url": "https://hooks.slack.com/services/...", "timeout": 5, "retries": 2,
                    "secret": "hmac-key", "headers": {"Authorization": "Bearer ..."}},
        "apprise": {"urls": ["tgram://bottoken/ChatID"]},
    }

``"webhook"`` may also be a list of such dicts. One reading gives both the notifiers and the
problems, so the fallback and the check of ``manage.py check`` (ids ``monitorkit.W201`` to
``W206``, warnings only) cannot disagree. No message shows a URL's path, a key or a header.

Each notifier's module is imported only when its channel is configured: the webhook's brings
``requests``, which a project that alerts by email only never needs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from ..conf import Problem, show, timeout_pair
from .base import Notifier

ALERTS = "MONITORKIT_ALERTS"
BASE_URL = "MONITORKIT_BASE_URL"
MAX_RETRIES = 5
MAX_TIMEOUT = 600.0

W_ALERTS = "monitorkit.W201"
W_CHANNEL = "monitorkit.W202"
W_EMAIL = "monitorkit.W203"
W_WEBHOOK = "monitorkit.W204"
W_APPRISE = "monitorkit.W205"
W_BASE_URL = "monitorkit.W206"

_HINTS = {
    W_ALERTS: "Set MONITORKIT_ALERTS to a dict with any of the keys 'email', 'webhook', 'apprise'.",
    W_CHANNEL: "Use only the keys 'email', 'webhook' and 'apprise' in MONITORKIT_ALERTS.",
    W_EMAIL: "For example MONITORKIT_ALERTS['email'] = {'to': ['ops@example.com']}, or True to "
    "write to ADMINS from DEFAULT_FROM_EMAIL.",
    W_WEBHOOK: "For example MONITORKIT_ALERTS['webhook'] = {'url': 'https://example.com/hook', "
    f"'timeout': 5, 'retries': 2}} (retries from 0 to {MAX_RETRIES}; 'secret' a string, "
    "'headers' a dict of strings).",
    W_APPRISE: "For example MONITORKIT_ALERTS['apprise'] = {'urls': ['ntfys://topic']}, with "
    'apprise installed (pip install "monitorkit[apprise]").',
    W_BASE_URL: "Set MONITORKIT_BASE_URL to the address the status page is served under, e.g. "
    "'https://example.com/monitor'.",
}
_EMAIL_KEYS = frozenset({"to", "from"})
_WEBHOOK_KEYS = frozenset({"url", "timeout", "retries", "secret", "headers"})
_APPRISE_KEYS = frozenset({"urls"})

Report = Callable[[str, str], None]


def notifiers_from_settings() -> list[Notifier]:
    """Return the notifiers ``MONITORKIT_ALERTS`` asks for (bad entries are left out)."""
    return _read()[0]


def problems() -> list[Problem]:
    """Return what is wrong with ``MONITORKIT_ALERTS`` and ``MONITORKIT_BASE_URL``."""
    found = _read()[1]
    base = getattr(settings, BASE_URL, None)
    if base is not None and not (
        isinstance(base, str)
        and urlsplit(base).scheme in ("http", "https")
        and urlsplit(base).netloc
    ):
        found.append(
            Problem(
                W_BASE_URL,
                f"{BASE_URL} must be an http(s) URL, not {show(base)}.",
                _HINTS[W_BASE_URL],
            )
        )
    return found


def _read() -> tuple[list[Notifier], list[Problem]]:
    found: list[Problem] = []

    def report(check_id: str, msg: str) -> None:
        found.append(Problem(check_id, msg, _HINTS[check_id]))

    value = getattr(settings, ALERTS, None)
    if value is None:
        return [], found
    if not isinstance(value, dict):
        report(W_ALERTS, f"{ALERTS} must be a dict, not a {type(value).__name__}: no alerts.")
        return [], found
    unknown = sorted(str(k) for k in value if k not in ("email", "webhook", "apprise"))
    if unknown:
        report(W_CHANNEL, f"{ALERTS} has keys monitorkit does not know: {', '.join(unknown)}.")
    notifiers: list[Notifier] = []
    for build, key in ((_email, "email"), (_webhooks, "webhook"), (_apprise, "apprise")):
        if value.get(key) not in (None, False):
            notifiers += build(value[key], report)
    return notifiers, found


def _unknown_keys(entry: dict[Any, Any], known: frozenset[str], where: str) -> str | None:
    unknown = sorted(str(k) for k in entry if k not in known)
    return f"{where} has keys monitorkit does not know: {', '.join(unknown)}." if unknown else None


def _email(entry: Any, report: Report) -> list[Notifier]:
    from .email import EmailNotifier, admin_addresses

    where = f"{ALERTS}['email']"
    if entry is True:
        entry = {}
    if not isinstance(entry, dict):
        report(W_EMAIL, f"{where} must be True or a dict, not a {type(entry).__name__}.")
        return []
    if (why := _unknown_keys(entry, _EMAIL_KEYS, where)) is not None:
        report(W_EMAIL, why)
    to = entry.get("to")
    if to is not None and not (
        isinstance(to, (list, tuple)) and all(isinstance(a, str) and "@" in a for a in to)
    ):
        report(W_EMAIL, f"{where}['to'] must be a list of email addresses; ADMINS is used.")
        to = None
    if not (to if to is not None else admin_addresses()):
        report(W_EMAIL, f"{where} has no address to send to: 'to' and ADMINS are both empty.")
    sender = entry.get("from")
    if sender is not None and not isinstance(sender, str):
        report(W_EMAIL, f"{where}['from'] must be a string; DEFAULT_FROM_EMAIL is used.")
        sender = None
    return [EmailNotifier(to=to, from_email=sender)]


def _webhooks(entry: Any, report: Report) -> list[Notifier]:
    entries = entry if isinstance(entry, (list, tuple)) else [entry]
    notifiers: list[Notifier] = []
    for number, one in enumerate(entries):
        where = f"{ALERTS}['webhook']" + (f"[{number}]" if entries is entry else "")
        notifier = _webhook(one, where, report)
        if notifier is not None:
            notifiers.append(notifier)
    return notifiers


def _webhook(entry: Any, where: str, report: Report) -> Notifier | None:
    from .webhook import DEFAULT_RETRIES, DEFAULT_TIMEOUT, WebhookNotifier

    if not isinstance(entry, dict):
        report(W_WEBHOOK, f"{where} must be a dict, not a {type(entry).__name__}.")
        return None
    if (why := _unknown_keys(entry, _WEBHOOK_KEYS, where)) is not None:
        report(W_WEBHOOK, why)
    url = entry.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        not isinstance(url, str)
        or parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
    ):
        # The URL itself is never shown: its path is often the credential.
        report(W_WEBHOOK, f"{where}['url'] must be an http(s) URL: this webhook is left out.")
        return None
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT
    if "timeout" in entry:
        verdict = timeout_pair(MAX_TIMEOUT)(entry["timeout"])
        if verdict.value is None:
            report(W_WEBHOOK, f"{where}['timeout'] {verdict.problem} {DEFAULT_TIMEOUT:g} is used.")
        else:
            timeout = verdict.value
    retries = entry.get("retries", DEFAULT_RETRIES)
    if type(retries) is not int or not 0 <= retries <= MAX_RETRIES:
        report(
            W_WEBHOOK,
            f"{where}['retries'] must be a whole number from 0 to {MAX_RETRIES}, not "
            f"{show(retries)}; {DEFAULT_RETRIES} is used.",
        )
        retries = DEFAULT_RETRIES
    secret = entry.get("secret")
    if secret is not None and not (isinstance(secret, str) and secret):
        report(W_WEBHOOK, f"{where}['secret'] must be a non-empty string: bodies go unsigned.")
        secret = None
    headers = entry.get("headers") or {}
    if not (
        isinstance(headers, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        report(W_WEBHOOK, f"{where}['headers'] must be a dict of strings: none are sent.")
        headers = {}
    return WebhookNotifier(url, timeout=timeout, retries=retries, secret=secret, headers=headers)


def _apprise(entry: Any, report: Report) -> list[Notifier]:
    from .apprise import INSTALL_HINT, AppriseNotifier

    where = f"{ALERTS}['apprise']"
    if not isinstance(entry, dict):
        report(W_APPRISE, f"{where} must be a dict with 'urls', not a {type(entry).__name__}.")
        return []
    if (why := _unknown_keys(entry, _APPRISE_KEYS, where)) is not None:
        report(W_APPRISE, why)
    urls = entry.get("urls")
    if not (isinstance(urls, (list, tuple)) and urls and all(isinstance(u, str) for u in urls)):
        report(W_APPRISE, f"{where}['urls'] must be a non-empty list of Apprise URLs.")
        return []
    if importlib.util.find_spec("apprise") is None:
        report(W_APPRISE, f"{where} is set but apprise is not installed; {INSTALL_HINT}.")
    return [AppriseNotifier(urls)]
