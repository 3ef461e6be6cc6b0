"""``MONITORKIT_AUTO``: monitor every management command, Django's own and third-party ones.

One hook, at the one place every command passes through before it runs with its name in hand:
``BaseCommand.create_parser(prog_name, subcommand)``, which ``manage.py`` (``run_from_argv``),
``call_command`` and ``manage.py help`` all call before anything else. When the command is
selected (:func:`is_selected`), the wrapper "adopts" it: the instance's class becomes a subclass
with :class:`~monitorkit.command.MonitoredCommandMixin` in front (:func:`monitored_class`), so
the command then runs exactly as a ``MonitoredCommand`` would, and its parser gets
``--disable_monitor``. A ``MonitoredCommand`` is left as it is: it is never monitored twice.

The selection is read at each call, so ``override_settings`` works; the hook itself is put in
place once, by ``MonitorkitConfig.ready()`` when ``MONITORKIT_AUTO`` is on at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import wrapt
from django.core.management.base import BaseCommand

from .command import MonitoredCommandMixin
from .conf import monitor_settings
from .mixins.base import MonitorMixin
from .mixins.options import add_monitor_options
from .naming import matches_any

logger = logging.getLogger("monitorkit")

#: The monitored subclass of each command class adopted so far (made once per class).
_monitored_classes: dict[type, type] = {}


def is_selected(name: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    """Return whether auto mode monitors command ``name``: included, and not excluded.

    Patterns are ``fnmatch`` patterns matched case-sensitively (command names are); an
    exclusion wins over an inclusion.
    """
    return matches_any(name, include) and not matches_any(name, exclude)


def monitored_class(cls: type) -> type:
    """Return ``cls`` with ``MonitoredCommandMixin`` in front, made once per class.

    It keeps the name, module, qualified name and docstring of ``cls``, so tracebacks, ``repr``
    and the run's name read as before; ``MonitorMixin.__init_subclass__`` wraps the class's own
    ``handle`` and ``execute``.
    """
    found = _monitored_classes.get(cls)
    if found is None:
        namespace: dict[str, Any] = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
        }
        made = type(cls.__name__, (MonitoredCommandMixin, cls), namespace)
        found = _monitored_classes.setdefault(cls, made)  # a racing thread's class wins once
    return found


def adopt(command: Any, name: str, parser: Any) -> None:
    """Make ``command`` a monitored command when auto mode selects ``name``; never raise."""
    settings = monitor_settings
    try:
        if not settings.auto or not is_selected(name, settings.auto_include, settings.auto_exclude):
            return
        command.__class__ = monitored_class(type(command))
    except Exception as err:  # noqa: BLE001 - an odd class is left unmonitored, never broken
        logger.warning(
            "monitorkit: MONITORKIT_AUTO leaves command %r unmonitored: its class %s cannot be "
            "given the monitoring mixins (%s: %s)",
            name,
            type(command).__qualname__,
            type(err).__name__,
            err,
        )
        return
    try:
        command._monitor_option_defaults = add_monitor_options(parser)
    except Exception:  # its run is still recorded, without --disable_monitor
        logger.exception("monitorkit could not add --disable_monitor to command %r", name)


def _subcommand(prog_name: str, subcommand: str, **kwargs: Any) -> str:
    return subcommand


def _adopting_create_parser(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Build the parser as always; then adopt the command (a ``MonitoredCommand`` already is)."""
    parser = wrapped(*args, **kwargs)
    if instance is not None and not isinstance(instance, MonitorMixin):
        adopt(instance, _subcommand(*args, **kwargs), parser)
    return parser


def is_installed() -> bool:
    """Return whether the hook is on ``BaseCommand.create_parser``."""
    current = BaseCommand.__dict__.get("create_parser")
    return isinstance(current, wrapt.FunctionWrapper) and (
        getattr(current, "_self_wrapper", None) is _adopting_create_parser
    )


def install() -> None:
    """Put the hook on ``BaseCommand.create_parser`` (once, however often it is called)."""
    if not is_installed():
        wrapt.wrap_function_wrapper(BaseCommand, "create_parser", _adopting_create_parser)


def uninstall() -> None:
    """Take the hook off again (for tests); commands adopted meanwhile stay monitored."""
    if is_installed():
        BaseCommand.create_parser = BaseCommand.__dict__["create_parser"].__wrapped__  # type: ignore[method-assign]
