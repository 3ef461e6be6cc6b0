"""``manage.py check`` for monitorkit's settings (each rule is declared once, in ``conf``).

Every message is a ``Warning``, never an ``Error``: Django refuses to run any command while an
``Error`` stands, and a monitoring setting must never stop ``migrate`` or the command it watches.

Django runs the system checks before every command, so what runs here is paid by every command
of the project, monitored or not. The settings check is cheap and runs always. The schedule and
alert check is not: finding every schedule declaration imports every management command module
of the project (and ``MONITORKIT_MONITOR_MODULES``), and reading the alert settings may import
the webhook notifier's HTTP client. It therefore runs only where someone asks for it:

- in the ``check`` command (``manage.py check``, ``call_command("check")``, and Django's test
  runner, which calls it): :func:`check_command_is_running` tells;
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

import sys
from typing import Any

from django.core import checks

from . import conf
from .conf import Problem

#: The module of Django's ``check`` command. Django imports a command's module only to run that
#: command (``manage.py`` loads the one named on its command line, ``call_command`` the one it
#: is given), so while it is not imported, the process is not running ``check``.
CHECK_COMMAND_MODULE = "django.core.management.commands.check"


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


def check_command_is_running() -> bool:
    """Return whether this process has loaded Django's ``check`` command.

    A cheap stand-in for "the command being run is ``check``": it is true in every process that
    runs ``check``, and otherwise only in one that ran ``check`` before (a test process that
    called it), where the schedule and alert check then runs again: a cost, never a wrong answer.
    A project's own ``check`` command that replaces Django's without subclassing it never loads
    this module; there these warnings show only when ``monitor_watch`` starts.
    """
    return CHECK_COMMAND_MODULE in sys.modules


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
