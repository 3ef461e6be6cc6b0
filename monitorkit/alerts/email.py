"""Alerts by email, through Django's own mail framework (``EMAIL_BACKEND`` and its settings).

By default an alert goes to the addresses of ``ADMINS`` from ``DEFAULT_FROM_EMAIL``, as the
admins are who Django already writes to when something breaks.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage

from ..redaction import redact
from ..transitions import Transition
from .base import Notifier, NotifierError, Report, unknown_keys
from .message import build_alert

SUBJECT_PREFIX = "[monitorkit] "


def admin_addresses() -> list[str]:
    """Return the addresses of ``ADMINS``: ``("Name", "addr")`` pairs or plain addresses."""
    addresses = []
    for admin in getattr(settings, "ADMINS", None) or ():
        address = admin if isinstance(admin, str) else admin[1] if len(admin) > 1 else None
        if isinstance(address, str) and address:
            addresses.append(address)
    return addresses


class EmailNotifier(Notifier):
    """Send each alert as one plain-text email to ``to`` (default: the admins)."""

    name = "email"

    def __init__(self, to: Sequence[str] | None = None, from_email: str | None = None) -> None:
        self.to = list(admin_addresses() if to is None else to)
        self.from_email = from_email  # None: DEFAULT_FROM_EMAIL, read by Django when sending

    @classmethod
    def from_settings(cls, entry: Any, where: str, report: Report) -> list[Notifier]:
        """``True`` (to ADMINS, from DEFAULT_FROM_EMAIL) or ``{"to": [...], "from": "..."}``."""
        if entry is True:
            entry = {}
        if not isinstance(entry, dict):
            report(f"{where} must be True or a dict, not a {type(entry).__name__}.")
            return []
        if (why := unknown_keys(entry, ("to", "from"), where)) is not None:
            report(why)
        to = entry.get("to")
        if to is not None and not (
            isinstance(to, (list, tuple)) and all(isinstance(a, str) and "@" in a for a in to)
        ):
            report(f"{where}['to'] must be a list of email addresses; ADMINS is used.")
            to = None
        if not (to if to is not None else admin_addresses()):
            report(f"{where} has no address to send to: 'to' and ADMINS are both empty.")
        sender = entry.get("from")
        if sender is not None and not isinstance(sender, str):
            report(f"{where}['from'] must be a string; DEFAULT_FROM_EMAIL is used.")
            sender = None
        return [cls(to=to, from_email=sender)]

    def describe(self) -> str:
        return f"email to {len(self.to)} address{'es' if len(self.to) != 1 else ''}"

    def send(self, transition: Transition) -> None:
        """Send the alert now (``fail_silently=False``); a failure is a NotifierError."""
        if not self.to:
            raise NotifierError(
                "email: no address to send to: MONITORKIT_ALERTS['email']['to'] and ADMINS "
                "are both empty"
            )
        alert = build_alert(transition)
        message = EmailMessage(
            subject=SUBJECT_PREFIX + alert.title,
            body=alert.text,
            from_email=self.from_email,
            to=self.to,
        )
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError, BadHeaderError, ValueError) as err:
            # The SMTP password cannot be in an SMTP error, but a URL-ish host might carry one.
            password = getattr(settings, "EMAIL_HOST_PASSWORD", "") or ""
            detail = redact(str(err), (password,) if password else ())
            raise NotifierError(
                f"{self.describe()} failed: {type(err).__name__}: {detail}"
            ) from None
