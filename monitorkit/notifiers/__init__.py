"""Notifiers: each takes a transition of a command's health and tells someone about it.

``MONITORKIT_ALERTS`` says which (see :mod:`monitorkit.notifiers.config`); the watcher asks
:func:`notifiers_from_settings` for them and hands each transition to :func:`send_all`.
"""

from __future__ import annotations

from .base import Notifier, NotifierError, send_all
from .config import notifiers_from_settings, problems
from .message import Alert, build_alert

__all__ = [
    "Alert",
    "Notifier",
    "NotifierError",
    "build_alert",
    "notifiers_from_settings",
    "problems",
    "send_all",
]
