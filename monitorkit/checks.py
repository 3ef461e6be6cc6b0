"""``manage.py check`` for monitorkit's settings (each rule is declared once, in ``conf``).

Every message is a ``Warning``, never an ``Error``: Django refuses to run any command while an
``Error`` stands, and a monitoring setting must never stop ``migrate`` or the command it watches.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from . import conf


@checks.register("monitorkit")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Return one warning per settings problem, with its hint."""
    return [checks.Warning(p.msg, hint=p.hint, id=p.id) for p in conf.problems()]


@checks.register("monitorkit")
def check_schedules_and_alerts(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Return one warning per bad schedule declaration or alert setting (W1xx, W2xx).

    They are not logged at each run's start, as the settings are: finding every declaration
    imports every management command; ``monitor_watch`` logs them when it starts instead.
    """
    from . import notifiers, schedules

    found = schedules.problems() + notifiers.problems()
    return [checks.Warning(p.msg, hint=p.hint, id=p.id) for p in found]
