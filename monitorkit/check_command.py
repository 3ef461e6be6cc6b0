"""Whether this process runs Django's ``check`` command: where monitorkit's costly checks run.

Django runs the system checks before every management command, so a check is paid by every
command of the project, monitored or not. Two kinds run only where someone asks for them, in
the ``check`` command (``manage.py check``, ``call_command("check")``, Django's test runner):
monitorkit's schedule and alert check (``monitorkit/checks.py``) and Django's own checks of
monitorkit's tables (``models.OwnModel``).
"""

from __future__ import annotations

import sys

#: The module of Django's ``check`` command. Django imports a command's module only to run that
#: command (``manage.py`` loads the one named on its command line, ``call_command`` the one it
#: is given), so while it is not imported, the process is not running ``check``.
CHECK_COMMAND_MODULE = "django.core.management.commands.check"


def check_command_is_running() -> bool:
    """Return whether this process has loaded Django's ``check`` command.

    A cheap stand-in for "the command being run is ``check``": it is true in every process that
    runs ``check``, and otherwise only in one that ran ``check`` before (a test process that
    called it), where the costly checks then run again: a cost, never a wrong answer. A
    project's own ``check`` command that replaces Django's without subclassing it never loads
    this module; there the schedule and alert problems show only when ``monitor_watch`` starts.
    """
    return CHECK_COMMAND_MODULE in sys.modules
