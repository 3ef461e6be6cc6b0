"""The run's identity: command id, name and params (rules in ``monitorkit/naming.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .. import naming
from ..record import Identity
from .base import MonitorMixin


class NameNormalizationMixin(MonitorMixin):
    """Name a run as django-command-monitor did: ``test_command__verbosity_2``.

    Set ``monitor_command_id`` (or override ``get_monitor_command_id``) to choose the id
    yourself, e.g. to keep every date of a nightly import under one history.
    """

    monitor_command_id: ClassVar[str | None] = None
    """A fixed command id for every run of this class."""
    monitor_command_name: ClassVar[str | None] = None
    """The command's name; by default the module name of a management command, else the class."""

    def get_monitor_command_name(self) -> str:
        """Return the command's name: ``test_command`` for ``manage.py test_command``."""
        if self.monitor_command_name:
            return self.monitor_command_name
        module = type(self).__module__
        if ".management.commands." in module:
            return module.rsplit(".", 1)[-1]
        return type(self).__name__

    def get_monitor_options(self, kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        """Return the options that tell this run apart, in the parser's order."""
        defaults = getattr(self, "_monitor_option_defaults", None)
        return naming.explicit_options(kwargs, defaults)

    def get_monitor_command_id(
        self, name: str, options: list[tuple[str, Any]], args: Sequence[Any]
    ) -> str:
        """Return the command id (made a valid Firebase key afterwards, whatever you return)."""
        if self.monitor_command_id:
            return naming.sanitize_key(self.monitor_command_id)
        return naming.command_id(name, options, args)

    def get_monitor_identity(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Identity:
        """Return the run's id, name and params from the call's arguments."""
        name = self.get_monitor_command_name()
        options = self.get_monitor_options(kwargs)
        return Identity(
            id=naming.sanitize_key(str(self.get_monitor_command_id(name, options, args))),
            name=name,
            params=naming.format_params(options, args),
            secrets=tuple(naming.secret_values(kwargs)),
        )
