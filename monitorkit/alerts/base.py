"""What every notifier is: one verb, ``send(transition)``, and one error type safe to log.

A notifier words the transition with :func:`~monitorkit.alerts.message.build_alert` and
delivers it; whatever goes wrong becomes a :class:`NotifierError` whose message names what
failed and why, and never holds a credential (no webhook path, header value, HMAC key or
password). The watcher names each notifier a channel (:func:`channels`) and sends through each
with :func:`send_one`, storing each channel's delivery; :func:`send_all` sends through all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..transitions import Transition

logger = logging.getLogger("monitorkit")


class NotifierError(Exception):
    """A notifier could not deliver an alert; the message is safe to log."""


#: Says what is wrong with a notifier's entry in ``MONITORKIT_ALERTS`` (``manage.py check``).
Report = Callable[[str], None]


class Notifier:
    """Deliver alerts somewhere; a subclass writes :meth:`send` and sets ``name``.

    ``MONITORKIT_ALERTS`` names a notifier by the dotted path of its class (``"BACKEND"``), as
    Django's ``EMAIL_BACKEND`` does; ``"email"``, ``"webhook"`` and ``"apprise"`` are short
    for the built-in ones' paths, and every entry is built by its class's
    :meth:`from_settings`. The channel is named after the entry's key.
    """

    name = "notifier"

    @classmethod
    def from_settings(cls, entry: Any, where: str, report: Report) -> list[Notifier]:
        """Return the notifiers an entry of ``MONITORKIT_ALERTS`` asks for (``[]``: none).

        ``entry`` is the entry's value without ``"BACKEND"``; ``where`` names it in a message;
        ``report(message)`` says what is wrong with it (a warning of ``manage.py check``,
        never with a credential). This default passes a dict's items to the constructor as
        keyword arguments; a class with rules of its own checks them here.
        """
        if not isinstance(entry, dict):
            report(f"{where} must be a dict, not a {type(entry).__name__}.")
            return []
        try:
            return [cls(**entry)]
        except Exception as err:  # noqa: BLE001 - its own words may hold a credential
            report(f"{where}: {cls.__qualname__}(...) raised {type(err).__name__}; left out.")
            return []

    def send(self, transition: Transition) -> None:
        """Deliver ``transition``; raise :class:`NotifierError` when it cannot be."""
        raise NotImplementedError(f"{type(self).__name__} must define send(transition)")

    def describe(self) -> str:
        """Return where this notifier sends, for log lines (never with a credential)."""
        return self.name

    def close(self) -> None:
        """Release what the notifier holds (a session); it may still send afterwards."""


def unknown_keys(entry: dict[Any, Any], known: Iterable[str], where: str) -> str | None:
    """Return a message naming the keys of ``entry`` not in ``known`` (``None``: there are none)."""
    allowed = set(known)
    unknown = sorted(str(k) for k in entry if k not in allowed)
    return f"{where} has keys monitorkit does not know: {', '.join(unknown)}." if unknown else None


def channels(notifiers: Sequence[Notifier]) -> dict[str, Notifier]:
    """Return the notifiers by channel name: their ``name``, numbered when it repeats.

    Two webhooks are ``webhook`` and ``webhook-2``, in the order of ``MONITORKIT_ALERTS``: the
    name a channel's delivery is stored under, so it must stay the same from one cycle (and
    one watcher) to the next, and say nothing secret.
    """
    named: dict[str, Notifier] = {}
    seen: dict[str, int] = {}
    for notifier in notifiers:
        seen[notifier.name] = seen.get(notifier.name, 0) + 1
        count = seen[notifier.name]
        named[notifier.name if count == 1 else f"{notifier.name}-{count}"] = notifier
    return named


def send_one(transition: Transition, notifier: Notifier) -> NotifierError | None:
    """Send ``transition`` through ``notifier``; log and return the failure, never raise.

    A notifier that raises anything but :class:`NotifierError` (a user's own subclass) counts
    as failed too; only its exception's type is kept, since its message may hold anything.
    """
    try:
        notifier.send(transition)
    except NotifierError as err:
        failure = err
    except Exception as err:  # one notifier never stops the others
        logger.debug("monitorkit: %s raised", notifier.describe(), exc_info=True)
        failure = NotifierError(f"{notifier.describe()} raised {type(err).__name__}")
    else:
        return None
    logger.warning(
        "monitorkit could not send the alert %s through %s: %s",
        transition.id,
        notifier.describe(),
        failure,
    )
    return failure


def send_all(transition: Transition, notifiers: Iterable[Notifier]) -> list[NotifierError]:
    """Send ``transition`` through each notifier; return the failures, never raise."""
    return [err for n in notifiers if (err := send_one(transition, n)) is not None]
