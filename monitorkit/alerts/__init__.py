"""Notifiers: each takes a transition of a command's health and tells someone about it.

``MONITORKIT_ALERTS`` says which (see :mod:`monitorkit.alerts.config`); the watcher asks
:func:`notifiers_from_settings` for them, names each a channel (:func:`channels`) and hands
each transition to each channel still to be told (:func:`send_one`).
"""

from __future__ import annotations

from .base import Notifier, NotifierError, channels, send_all, send_one
from .config import notifiers_from_settings, problems
from .message import Alert, build_alert

__all__ = [
    "Alert",
    "Notifier",
    "NotifierError",
    "build_alert",
    "channels",
    "notifiers_from_settings",
    "problems",
    "send_all",
    "send_one",
]
