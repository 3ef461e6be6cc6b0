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
``W207``, warnings only) cannot disagree. No message shows a URL's path, a key or a header.

Both settings are declared in ``monitorkit/conf/__init__.py`` (``ALERTS``, ``BASE_URL``), with their
type-level rule, default and hint, and read through those declarations; their problems are
said here, with the entries', where the check command and the watcher look for them
(``monitorkit/checks.py``).

Each notifier's module is imported only when its channel is configured: the webhook's brings
``requests``, which a project that alerts by email only never needs.
"""

from __future__ import annotations

from typing import Any

from ..conf import ALERTS, BASE_URL, Problem
from .base import Notifier, Report

W_CHANNEL = "monitorkit.W202"
W_EMAIL = "monitorkit.W203"
W_WEBHOOK = "monitorkit.W204"
W_APPRISE = "monitorkit.W205"
W_BACKEND = "monitorkit.W207"
NOTIFIER = "monitorkit.alerts.Notifier"

#: The built-in channels: their keys are short for their classes' dotted paths.
BUILT_IN: dict[str, tuple[str, str]] = {
    "email": ("monitorkit.alerts.email.EmailNotifier", W_EMAIL),
    "webhook": ("monitorkit.alerts.webhook.WebhookNotifier", W_WEBHOOK),
    "apprise": ("monitorkit.alerts.apprise.AppriseNotifier", W_APPRISE),
}

_HINTS = {
    W_CHANNEL: "Use the keys 'email', 'webhook' and 'apprise' in MONITORKIT_ALERTS, or give "
    "a channel of your own a dict with 'BACKEND': 'yourapp.alerts.YourNotifier'.",
    W_EMAIL: "For example MONITORKIT_ALERTS['email'] = {'to': ['ops@example.com']}, or True to "
    "write to ADMINS from DEFAULT_FROM_EMAIL.",
    W_WEBHOOK: "For example MONITORKIT_ALERTS['webhook'] = {'url': 'https://example.com/hook', "
    "'timeout': 5, 'retries': 2} (retries from 0 to 5; 'secret' a string, 'headers' a dict "
    "of strings).",
    W_APPRISE: "For example MONITORKIT_ALERTS['apprise'] = {'urls': ['ntfys://topic']}, with "
    'apprise installed (pip install "monitorkit[apprise]").',
    W_BACKEND: "'BACKEND' is the dotted path of a subclass of monitorkit.alerts.Notifier; "
    "the entry's other keys go to its from_settings() (by default, to its constructor).",
}


def notifiers_from_settings() -> list[Notifier]:
    """Return the notifiers ``MONITORKIT_ALERTS`` asks for (bad entries are left out)."""
    return _read()[0]


def problems() -> list[Problem]:
    """Return what is wrong with ``MONITORKIT_ALERTS`` and ``MONITORKIT_BASE_URL``."""
    found = _read()[1]
    if (problem := BASE_URL.problem()) is not None:
        found.append(problem)
    return found


def _read() -> tuple[list[Notifier], list[Problem]]:
    found: list[Problem] = []

    def reporter(check_id: str) -> Report:
        return lambda msg: found.append(Problem(check_id, msg, _HINTS[check_id]))

    if (problem := ALERTS.problem()) is not None:  # not a dict: its default, no alerts, is read
        found.append(problem)
    notifiers: list[Notifier] = []
    unknown = []
    for key, entry in ALERTS.value().items():
        where = f"{ALERTS.name}[{key!r}]"
        if isinstance(entry, dict) and "BACKEND" in entry:
            path = entry["BACKEND"]
            check_id = next((c for p, c in BUILT_IN.values() if p == path), W_BACKEND)
            entry = {k: v for k, v in entry.items() if k != "BACKEND"}
        elif key in BUILT_IN:
            path, check_id = BUILT_IN[key]
        else:
            unknown.append(str(key))
            continue
        if entry in (None, False):
            continue  # switched off
        cls = _notifier_class(path, where, reporter(W_BACKEND))
        if cls is None:
            continue
        for notifier in cls.from_settings(entry, where, reporter(check_id)):
            notifier.name = str(key)  # the channel's name: its key (numbered when a list)
            notifiers.append(notifier)
    if unknown:
        reporter(W_CHANNEL)(
            f"{ALERTS.name} has keys monitorkit does not know: {', '.join(sorted(unknown))} (a "
            "notifier of your own is a dict with 'BACKEND', the dotted path of its class)."
        )
    return notifiers, found


def _notifier_class(path: Any, where: str, report: Report) -> type[Notifier] | None:
    """Return the notifier class ``path`` names, or ``None`` (and say why)."""
    from django.utils.module_loading import import_string

    if not isinstance(path, str) or not path:
        report(f"{where}['BACKEND'] must be the dotted path of a Notifier class: left out.")
        return None
    try:
        cls = import_string(path)
    except ImportError as err:
        report(f"{where}['BACKEND'] {path!r} cannot be imported ({err}): left out.")
        return None
    if not (isinstance(cls, type) and issubclass(cls, Notifier)):
        report(f"{where}['BACKEND'] {path!r} is not a subclass of {NOTIFIER}: left out.")
        return None
    return cls
