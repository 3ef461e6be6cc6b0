"""Settings, read when used (never at import) so ``override_settings`` works.

The settings that users of django-command-monitor already have keep their names and meaning:
``FIREBASE_MONITORING``, ``FIREBASE_MONITORING_KEY``, ``FIREBASE_MONITORING_INTERVAL_PING``,
``FIREBASE_MONITORING_RUN`` and ``TESTING``. Everything new is spelled ``MONITORKIT_*``.

Every value is validated in one place, :func:`problems`, which feeds both ``manage.py check``
(``monitorkit/checks.py``) and the one warning logged at run time. A bad value never stops a
command: the property falls back to the default.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings

logger = logging.getLogger("monitorkit")

UNSET: Any = object()

DEFAULT_INTERVAL = 30.0
DEFAULT_FLUSH_TIMEOUT = 3.0
DEFAULT_RETENTION = 100
DEFAULT_QUEUE_SIZE = 1000
DEFAULT_TRACEBACK_LIMIT = 8000
DEFAULT_HTTP_TIMEOUT = (3.05, 5.0)
DEFAULT_RETRY_ATTEMPTS = 3
STALE_INTERVALS = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the settings, worded for ``manage.py check``."""

    id: str
    msg: str
    hint: str
    level: str = "error"  # "error" or "warning"


def _get(name: str, default: Any = UNSET) -> Any:
    return getattr(django_settings, name, default)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_number(name: str, default: float) -> float:
    value = _get(name)
    if value is UNSET or value is None:
        return default
    return float(value) if _is_number(value) and value > 0 else default


def _positive_int(name: str, default: int) -> int:
    value = _get(name)
    if value is UNSET or value is None:
        return default
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    )


def _timeout_pair(value: Any) -> tuple[float, float] | None:
    """Return ``(connect, read)`` from a number or a pair of numbers; ``None`` if invalid."""
    if _is_number(value) and value > 0:
        return (float(value), float(value))
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(_is_number(v) and v > 0 for v in value)
    ):
        return (float(value[0]), float(value[1]))
    return None


class MonitorSettings:
    """Typed access to monitorkit's settings; each property falls back to its default."""

    @property
    def run(self) -> bool:
        """``FIREBASE_MONITORING_RUN = False`` switches monitoring off for the whole project."""
        return _get("FIREBASE_MONITORING_RUN", True) is not False

    @property
    def testing(self) -> bool:
        """``TESTING = True`` switches monitoring off, as django-command-monitor did."""
        return _get("TESTING", False) is True

    @property
    def enabled(self) -> bool:
        return self.run and not self.testing

    @property
    def interval(self) -> float:
        """Seconds between heartbeats (``FIREBASE_MONITORING_INTERVAL_PING``)."""
        return _positive_number("FIREBASE_MONITORING_INTERVAL_PING", DEFAULT_INTERVAL)

    @property
    def stale_after(self) -> float:
        """Seconds without a heartbeat after which an unfinished run counts as killed."""
        return _positive_number("MONITORKIT_STALE_AFTER", STALE_INTERVALS * self.interval)

    @property
    def flush_timeout(self) -> float:
        """The most a command waits at exit for its last records to be delivered."""
        return _positive_number("MONITORKIT_FLUSH_TIMEOUT", DEFAULT_FLUSH_TIMEOUT)

    @property
    def retention(self) -> int:
        """How many runs are kept per command id."""
        return _positive_int("MONITORKIT_RETENTION", DEFAULT_RETENTION)

    @property
    def queue_size(self) -> int:
        return _positive_int("MONITORKIT_QUEUE_SIZE", DEFAULT_QUEUE_SIZE)

    @property
    def traceback_limit(self) -> int:
        """Characters of traceback kept in a record (the end of it, where the error is)."""
        return _positive_int("MONITORKIT_TRACEBACK_LIMIT", DEFAULT_TRACEBACK_LIMIT)

    @property
    def retry_attempts(self) -> int:
        return _positive_int("MONITORKIT_RETRY_ATTEMPTS", DEFAULT_RETRY_ATTEMPTS)

    @property
    def http_timeout(self) -> tuple[float, float]:
        """``(connect, read)`` seconds for every HTTP request a reporter makes."""
        return _timeout_pair(_get("MONITORKIT_HTTP_TIMEOUT", None)) or DEFAULT_HTTP_TIMEOUT

    @property
    def firebase(self) -> dict[str, Any] | None:
        """The ``FIREBASE_MONITORING`` dict, or ``None`` when Firebase is not configured."""
        value = _get("FIREBASE_MONITORING", None)
        return dict(value) if isinstance(value, dict) and value else None

    @property
    def firebase_key(self) -> str:
        value = _get("FIREBASE_MONITORING_KEY", "")
        return value if isinstance(value, str) else ""

    @property
    def database(self) -> bool:
        """Whether runs are stored in the project's own database.

        ``MONITORKIT_DATABASE`` decides when set; by default the database is the store exactly
        when Firebase is not configured and ``monitorkit`` is an installed app.
        """
        value = _get("MONITORKIT_DATABASE", None)
        if isinstance(value, bool):
            return value and self.app_installed
        return self.firebase is None and self.app_installed

    @property
    def database_alias(self) -> str:
        value = _get("MONITORKIT_DATABASE_ALIAS", "default")
        return value if isinstance(value, str) else "default"

    @property
    def extra_reporters(self) -> list[str]:
        """Dotted paths of reporter classes added to every monitored command."""
        value = _get("MONITORKIT_REPORTERS", [])
        return [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []

    @property
    def app_installed(self) -> bool:
        from django.apps import apps

        return apps.is_installed("monitorkit")


monitor_settings = MonitorSettings()


def problems() -> list[Problem]:
    """Return every problem with the current settings (empty when all is well)."""
    found: list[Problem] = []

    for name in ("TESTING", "FIREBASE_MONITORING_RUN", "MONITORKIT_DATABASE"):
        value = _get(name, None)
        if value is not None and not isinstance(value, bool):
            found.append(
                Problem(
                    "monitorkit.E001",
                    f"{name} must be True or False, not {value!r}.",
                    f"Set {name} = True or {name} = False.",
                )
            )

    numbers = {
        "FIREBASE_MONITORING_INTERVAL_PING": "seconds between heartbeats, e.g. 30",
        "MONITORKIT_STALE_AFTER": "seconds without heartbeat before a run counts as killed",
        "MONITORKIT_FLUSH_TIMEOUT": "seconds a command may wait at exit, e.g. 3",
    }
    for name, what in numbers.items():
        value = _get(name, None)
        if value is not None and not (_is_number(value) and value > 0):
            found.append(
                Problem(
                    "monitorkit.E002",
                    f"{name} must be a positive number, not {value!r}.",
                    f"Set {name} to the {what}; the default is used meanwhile.",
                )
            )

    for name in (
        "MONITORKIT_RETENTION",
        "MONITORKIT_QUEUE_SIZE",
        "MONITORKIT_TRACEBACK_LIMIT",
        "MONITORKIT_RETRY_ATTEMPTS",
    ):
        value = _get(name, None)
        if value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and value > 0
        ):
            found.append(
                Problem(
                    "monitorkit.E003",
                    f"{name} must be a positive whole number, not {value!r}.",
                    f"Set {name} to an int above 0; the default is used meanwhile.",
                )
            )

    firebase = _get("FIREBASE_MONITORING", None)
    if firebase is not None:
        if not isinstance(firebase, dict):
            found.append(
                Problem(
                    "monitorkit.E004",
                    f"FIREBASE_MONITORING must be a dict, not {type(firebase).__name__}.",
                    "Set FIREBASE_MONITORING = {'NAME': '<database name>', ...} "
                    "or {'DATABASE_URL': 'https://<db>.firebaseio.com'}.",
                )
            )
        elif firebase and not (firebase.get("DATABASE_URL") or firebase.get("NAME")):
            found.append(
                Problem(
                    "monitorkit.E005",
                    "FIREBASE_MONITORING names no database.",
                    "Add 'DATABASE_URL' (e.g. 'https://<db>.firebaseio.com') or 'NAME' "
                    "(the database name) to FIREBASE_MONITORING.",
                )
            )
        key = _get("FIREBASE_MONITORING_KEY", None)
        if (
            isinstance(firebase, dict)
            and firebase
            and not (isinstance(key, str) and key.strip("/"))
        ):
            found.append(
                Problem(
                    "monitorkit.E006",
                    "FIREBASE_MONITORING_KEY is missing, empty or not a string.",
                    "Set FIREBASE_MONITORING_KEY = 'monitor-myapp-production' (the top node "
                    "under which runs are stored).",
                )
            )

    reporters = _get("MONITORKIT_REPORTERS", None)
    if reporters is not None and not (
        isinstance(reporters, (list, tuple)) and all(isinstance(r, str) for r in reporters)
    ):
        found.append(
            Problem(
                "monitorkit.E007",
                "MONITORKIT_REPORTERS must be a list of dotted paths to reporter classes.",
                "For example MONITORKIT_REPORTERS = ['myproject.monitoring.SlackReporter'].",
            )
        )
    for path in monitor_settings.extra_reporters:
        from django.utils.module_loading import import_string

        try:
            import_string(path)
        except ImportError as err:
            found.append(
                Problem(
                    "monitorkit.E008",
                    f"MONITORKIT_REPORTERS entry {path!r} cannot be imported: {err}",
                    "Give the dotted path of a subclass of monitorkit.reporters.base.Reporter.",
                )
            )

    timeout = _get("MONITORKIT_HTTP_TIMEOUT", None)
    if timeout is not None and _timeout_pair(timeout) is None:
        found.append(
            Problem(
                "monitorkit.E009",
                f"MONITORKIT_HTTP_TIMEOUT must be a positive number or a (connect, read) pair "
                f"of them, not {timeout!r}.",
                "For example MONITORKIT_HTTP_TIMEOUT = (3.05, 5).",
            )
        )

    alias = _get("MONITORKIT_DATABASE_ALIAS", None)
    if alias is not None and alias not in getattr(django_settings, "DATABASES", {}):
        found.append(
            Problem(
                "monitorkit.E010",
                f"MONITORKIT_DATABASE_ALIAS {alias!r} is not a key of DATABASES.",
                "Name one of the databases in DATABASES (default 'default').",
            )
        )

    if monitor_settings.enabled and not (
        monitor_settings.firebase or monitor_settings.database or monitor_settings.extra_reporters
    ):
        found.append(
            Problem(
                "monitorkit.W001",
                "Monitored commands have nowhere to send their runs.",
                "Add 'monitorkit' to INSTALLED_APPS to store runs in the project's database, "
                "or configure FIREBASE_MONITORING.",
                level="warning",
            )
        )
    return found


_warned_lock = threading.Lock()
_warned: set[tuple[str, ...]] = set()


def warn_once() -> None:
    """Log the current settings problems once per process, as one warning."""
    found = problems()
    if not found:
        return
    key = tuple(p.id + p.msg for p in found)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    lines = "; ".join(f"{p.id}: {p.msg} {p.hint}" for p in found)
    logger.warning("monitorkit settings need attention (the command runs anyway): %s", lines)
