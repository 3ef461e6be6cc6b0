"""The command-line side: ``--disable_monitor``, and which options were given explicitly."""

from __future__ import annotations

from typing import Any

from .base import MonitorMixin


class CommandOptionsMixin(MonitorMixin):
    """Add ``--disable_monitor`` to a ``BaseCommand`` and remember its parser's defaults.

    The defaults let the command id hold only the options a run was given, whether it came from
    ``manage.py`` (``run_from_argv``) or from ``call_command`` (which fills in every default).
    """

    _monitor_option_defaults: dict[str, Any] | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        """Return Django's parser with ``--disable_monitor`` added; remember the defaults."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)  # type: ignore[misc]
        parser.add_argument(
            "--disable_monitor",
            action="store_true",
            help="Run this command without recording it (monitorkit).",
        )
        self._monitor_option_defaults = {
            action.dest: action.default for action in parser._actions if action.dest != "help"
        }
        return parser

    def monitor_is_enabled(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Return ``False`` for a run given ``--disable_monitor``."""
        if kwargs.get("disable_monitor"):
            return False
        return super().monitor_is_enabled(args, kwargs)
