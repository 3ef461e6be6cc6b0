"""``manage.py check`` for monitorkit's settings (rules live in ``conf.problems``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from . import conf


@checks.register("monitorkit")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Return one check message per settings problem, with its hint."""
    messages: list[checks.CheckMessage] = []
    for problem in conf.problems():
        cls = checks.Error if problem.level == "error" else checks.Warning
        messages.append(cls(problem.msg, hint=problem.hint, id=problem.id))
    return messages
