"""Alerts through Apprise, which reaches a hundred-odd services (Slack, Teams, Telegram, ntfy...).

Apprise is an optional extra (``pip install "monitorkit[apprise]"``), imported only when an alert
is sent, so a project without it pays nothing. Each URL gets its own attempt, and a failure
names the URL by its place in the list and its service, never by the URL itself: an Apprise URL
carries its service's token. Apprise logs its own reasons on the ``apprise`` logger.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

from ..healths import Health, Tone
from ..transitions import Transition
from .base import Notifier, NotifierError, Report, unknown_keys
from .message import build_alert

INSTALL_HINT = 'install it with: pip install "monitorkit[apprise]"'


def load_apprise() -> Any:
    """Return the ``apprise`` module, or raise a NotifierError that says how to install it."""
    try:
        return importlib.import_module("apprise")
    except ImportError:
        raise NotifierError(
            f"apprise: the apprise package is not installed; {INSTALL_HINT}"
        ) from None


class AppriseNotifier(Notifier):
    """Send each alert to every Apprise URL in ``urls``."""

    name = "apprise"

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = list(urls)

    @classmethod
    def from_settings(cls, entry: Any, where: str, report: Report) -> list[Notifier]:
        """``{"urls": [...]}``: the Apprise URLs (they are never shown: they hold tokens)."""
        if not isinstance(entry, dict):
            report(f"{where} must be a dict with 'urls', not a {type(entry).__name__}.")
            return []
        if (why := unknown_keys(entry, ("urls",), where)) is not None:
            report(why)
        urls = entry.get("urls")
        if not (isinstance(urls, (list, tuple)) and urls and all(isinstance(u, str) for u in urls)):
            report(f"{where}['urls'] must be a non-empty list of Apprise URLs.")
            return []
        if importlib.util.find_spec("apprise") is None:
            report(f"{where} is set but apprise is not installed; {INSTALL_HINT}.")
        return [cls(urls)]

    def describe(self) -> str:
        return f"apprise ({len(self.urls)} URL{'s' if len(self.urls) != 1 else ''})"

    def send(self, transition: Transition) -> None:
        """Notify each URL; raise one NotifierError naming every URL that failed."""
        apprise = load_apprise()
        alert = build_alert(transition)
        health = Health.of(transition.health)
        if health is not None and health.healthy:  # a recovery
            kind = apprise.NotifyType.SUCCESS
        elif health is not None and health.tone is Tone.WARNING:
            kind = apprise.NotifyType.WARNING
        else:
            kind = apprise.NotifyType.FAILURE
        failed = []
        for number, url in enumerate(self.urls, start=1):
            target = apprise.Apprise()
            if not target.add(url):
                failed.append(f"URL #{number} is not one apprise understands")
                continue
            service = next((s.service_name for s in target), None) or "?"
            ok = target.notify(
                body=alert.text,
                title=alert.title,
                notify_type=kind,
                body_format=apprise.NotifyFormat.TEXT,
            )
            if not ok:
                failed.append(f"URL #{number} ({service}) failed")
        if failed:
            raise NotifierError(
                f"{self.describe()}: {'; '.join(failed)} (the apprise logger says why)"
            )
