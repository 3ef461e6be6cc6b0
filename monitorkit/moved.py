"""Old import paths of moved modules: each is the module that moved, with a DeprecationWarning.

The package's modules were grouped into folders that name its parts (``docs/architecture.md``):
``stores/``, ``recording/``, ``health/``, ``alerts/``, ``web/``, ``conf/``. Code written against
an old path (``monitorkit.reporters.base``, ``monitorkit.watch``, ``monitorkit.notifiers.base``
...) keeps working: a finder, first on ``sys.meta_path``, answers exactly the names of
:data:`MOVED` with the module now at the new path, so there is one module and one set of
classes however it is named (``isinstance`` and dotted paths in settings keep their meaning).
Every other import passes it by after one dictionary lookup. The old paths go in the release
after next.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: Old module path -> the module's path now.
MOVED = {
    # The stores (issue 18, item 1): one package per store.
    "monitorkit.reporters": "monitorkit.stores",
    "monitorkit.reporters.base": "monitorkit.stores.base",
    "monitorkit.reporters.health_store": "monitorkit.stores.health_store",
    "monitorkit.reporters.database": "monitorkit.stores.database.runs",
    "monitorkit.reporters.database_health": "monitorkit.stores.database.health",
    "monitorkit.reporters.database_sql": "monitorkit.stores.database.sql",
    "monitorkit.reporters.firebase": "monitorkit.stores.firebase.runs",
    "monitorkit.reporters.firebase_health": "monitorkit.stores.firebase.health",
    "monitorkit.reporters.firebase_http": "monitorkit.stores.firebase.http",
    "monitorkit.reporters.firebase_auth": "monitorkit.stores.firebase.auth",
    # What records a run, beside the command.
    "monitorkit.run": "monitorkit.recording.run",
    "monitorkit.sender": "monitorkit.recording.sender",
    "monitorkit.spool": "monitorkit.recording.spool",
    "monitorkit.heartbeat": "monitorkit.recording.heartbeat",
    "monitorkit.killsignals": "monitorkit.recording.killsignals",
    "monitorkit.progress": "monitorkit.recording.progress",
    "monitorkit.output": "monitorkit.recording.output",
    "monitorkit.wakeup": "monitorkit.recording.wakeup",
    # Health: schedules, the judge, its inputs, the watcher.
    "monitorkit.schedules": "monitorkit.health.schedules",
    "monitorkit.overview": "monitorkit.health.overview",
    "monitorkit.watch": "monitorkit.health.watch",
    # Alerts.
    "monitorkit.notifiers": "monitorkit.alerts",
    "monitorkit.notifiers.base": "monitorkit.alerts.base",
    "monitorkit.notifiers.config": "monitorkit.alerts.config",
    "monitorkit.notifiers.message": "monitorkit.alerts.message",
    "monitorkit.notifiers.email": "monitorkit.alerts.email",
    "monitorkit.notifiers.webhook": "monitorkit.alerts.webhook",
    "monitorkit.notifiers.apprise": "monitorkit.alerts.apprise",
    # The status page, its JSON and the metrics.
    "monitorkit.views": "monitorkit.web.views",
    "monitorkit.views.access": "monitorkit.web.views.access",
    "monitorkit.views.api": "monitorkit.web.views.api",
    "monitorkit.views.chart": "monitorkit.web.views.chart",
    "monitorkit.views.command": "monitorkit.web.views.command",
    "monitorkit.views.metrics": "monitorkit.web.views.metrics",
    "monitorkit.views.overview": "monitorkit.web.views.overview",
    "monitorkit.views.page": "monitorkit.web.views.page",
    "monitorkit.dashboard": "monitorkit.web.dashboard",
    "monitorkit.metrics": "monitorkit.web.metrics",
    "monitorkit.stats": "monitorkit.web.stats",
    # Settings.
    "monitorkit.settings_table": "monitorkit.conf.table",
}
_IMPORT_MACHINERY = ("<frozen importlib", __file__)


def _caller_level() -> int:
    """Return the ``stacklevel`` of the first frame outside the import machinery and this file."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_IMPORT_MACHINERY):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


class MovedFinder:
    """Find an old path of :data:`MOVED` and load it as the module at its new path.

    The import system's finder and loader protocols, without ``importlib.abc``'s base classes:
    that module imports ``importlib.resources``, a millisecond every command of the project
    would pay (this module is imported with the package).
    """

    def __init__(self) -> None:
        # Alias name -> the module's own spec, between create_module and exec_module (the
        # import lock of the alias's name keeps one import of it at a time).
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)  # type: ignore[arg-type]

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} is now {new}; the old path goes in a future release of monitorkit",
            DeprecationWarning,
            stacklevel=_caller_level(),
        )
        module = importlib.import_module(new)
        # The import system sets the alias's spec on the module it is given: put its own back.
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        alias = module.__spec__
        if alias is not None and alias.name in self._specs:
            module.__spec__ = self._specs.pop(alias.name)


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once): an old package path must not be
    searched by the path finder, which would load a second copy of a module from the new
    package's directory."""
    if not any(isinstance(finder, MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
