"""``manage.py check`` for monitorkit's settings (each rule is declared once, in ``conf``).

Every message is a ``Warning``, never an ``Error``: Django refuses to run any command while an
``Error`` stands, and a monitoring setting must never stop ``migrate`` or the command it watches.

Django runs the system checks before every command, so what runs here is paid by every command
of the project, monitored or not. The settings check is cheap and runs always. The schedule and
alert check is not: finding every schedule declaration imports every management command module
of the project (and ``MONITORKIT_MONITOR_MODULES``), and reading the alert settings may import
the webhook notifier's HTTP client. It therefore runs only where someone asks for it:

- in the ``check`` command (``manage.py check``, ``call_command("check")``, and Django's test
  runner, which calls it): ``check_command.check_command_is_running`` tells;
- when ``monitor_watch`` starts, which logs the same problems itself (it must read every
  declaration anyway, and its log line is there even with ``--skip-checks``).

``MONITORKIT_SCHEDULES``, ``MONITORKIT_MONITOR_MODULES``, ``MONITORKIT_ALERTS``,
``MONITORKIT_ALERT_ROUTES``, ``MONITORKIT_BASE_URL`` and ``MONITORKIT_MAINTENANCE`` (its
windows' cron is read by cronsim) are declared in ``conf`` like every setting, but their
problems, the type-level one included, come from the second check, with those of their entries
(``conf.Setting.checked_by``): each problem is said once, and a watcher started with
``--skip-checks`` still says all of them.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from . import conf
from .check_command import check_command_is_running
from .conf import Problem


@checks.register("monitorkit")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Return one warning per settings problem, with its hint."""
    return [checks.Warning(p.msg, hint=p.hint, id=p.id) for p in conf.problems()]


@checks.register("monitorkit")
def check_declarations_in_check_command(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Run :func:`check_schedules_and_alerts` inside the ``check`` command only (see above)."""
    if not check_command_is_running():
        return []
    return check_schedules_and_alerts(app_configs, **kwargs)


def check_schedules_and_alerts(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Return one warning per bad schedule declaration, alert setting, route or maintenance
    window (W1xx, W2xx, W3xx).

    They are not logged at each run's start, as the settings are: finding every declaration
    imports every management command; ``monitor_watch`` logs them when it starts instead.
    """
    found = schedule_and_alert_problems()
    return [checks.Warning(p.msg, hint=p.hint, id=p.id) for p in found]


def schedule_and_alert_problems() -> list[Problem]:
    """Return the problems of the schedules, alerts, routes and maintenance windows: what this
    check and ``monitor_watch`` (as it starts) say, from one list."""
    from . import alerts as notifiers
    from .health import maintenance, routing, schedules

    return schedules.problems() + notifiers.problems() + routing.problems() + maintenance.problems()
