"""The command-line side: ``--disable_monitor``, and which options were given explicitly."""

from __future__ import annotations

import argparse
from typing import Any

from .base import MonitorMixin

DISABLE_OPTION = "--disable_monitor"


def add_monitor_options(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Add ``--disable_monitor`` to a command's parser; return the parser's defaults.

    The option is left out of the parsed options unless it is given (``SUPPRESS``): a command
    that hands its ``**options`` on, to ``call_command`` of a command without the option say,
    must get the very options it got before. A command that has a ``--disable_monitor`` of its
    own keeps it (adding ours would be an argparse conflict).

    The defaults let the command id hold only the options a run was given, whether it came from
    ``manage.py`` (``run_from_argv``) or from ``call_command`` (which fills in every default).
    """
    if DISABLE_OPTION not in parser._option_string_actions:
        parser.add_argument(
            DISABLE_OPTION,
            action="store_true",
            default=argparse.SUPPRESS,
            help="Run this command without recording it (monitorkit).",
        )
    return {
        action.dest: action.default
        for action in parser._actions
        if action.dest != "help" and action.default is not argparse.SUPPRESS
    }


class CommandOptionsMixin(MonitorMixin):
    """Add ``--disable_monitor`` to a ``BaseCommand`` and remember its parser's defaults."""

    _monitor_option_defaults: dict[str, Any] | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        """Return Django's parser with ``--disable_monitor`` added; remember the defaults."""
        parser = super().create_parser(prog_name, subcommand, **kwargs)  # type: ignore[misc]
        self._monitor_option_defaults = add_monitor_options(parser)
        return parser

    def monitor_is_enabled(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Return ``False`` for a run given ``--disable_monitor``."""
        if kwargs.get("disable_monitor"):
            return False
        return super().monitor_is_enabled(args, kwargs)
