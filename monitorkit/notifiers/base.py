"""What every notifier is: one verb, ``send(transition)``, and one error type safe to log.

A notifier words the transition with :func:`~monitorkit.notifiers.message.build_alert` and
delivers it; whatever goes wrong becomes a :class:`NotifierError` whose message names what
failed and why, and never holds a credential (no webhook path, header value, HMAC key or
password). :func:`send_all` is what the watcher calls: every notifier gets its chance, whatever
the others do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ..transitions import Transition

logger = logging.getLogger("monitorkit")


class NotifierError(Exception):
    """A notifier could not deliver an alert; the message is safe to log."""


class Notifier:
    """Deliver alerts somewhere; a subclass writes :meth:`send` and sets ``name``."""

    name = "notifier"

    def send(self, transition: Transition) -> None:
        """Deliver ``transition``; raise :class:`NotifierError` when it cannot be."""
        raise NotImplementedError(f"{type(self).__name__} must define send(transition)")

    def describe(self) -> str:
        """Return where this notifier sends, for log lines (never with a credential)."""
        return self.name

    def close(self) -> None:
        """Release what the notifier holds (a session); it may still send afterwards."""


def send_all(transition: Transition, notifiers: Iterable[Notifier]) -> list[NotifierError]:
    """Send ``transition`` through each notifier; log and return the failures, never raise.

    A notifier that raises anything but :class:`NotifierError` (a user's own subclass) counts
    as failed too; only its exception's type is kept, since its message may hold anything.
    """
    failures = []
    for notifier in notifiers:
        try:
            notifier.send(transition)
        except NotifierError as err:
            failures.append(err)
        except Exception as err:  # one notifier never stops the others
            logger.debug("monitorkit: %s raised", notifier.describe(), exc_info=True)
            failures.append(NotifierError(f"{notifier.describe()} raised {type(err).__name__}"))
        else:
            continue
        logger.warning(
            "monitorkit could not send the alert %s through %s: %s",
            transition.id,
            notifier.describe(),
            failures[-1],
        )
    return failures
