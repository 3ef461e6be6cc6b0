"""monitorkit: know what your Django management commands are doing.

``from monitorkit import MonitoredCommand`` and use it in place of ``BaseCommand``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import moved
from .version import __version__

moved.install()  # old import paths of moved modules (moved.py)

__all__ = [
    "Identity",
    "MonitoredCommand",
    "Outcome",
    "Status",
    "__version__",
    "monitor",
    "track",
]

if TYPE_CHECKING:
    from .command import MonitoredCommand
    from .decorators import monitor
    from .record import Identity, Outcome, Status
    from .recording.progress import track


def __getattr__(name: str) -> Any:
    # Lazy, so that importing monitorkit (e.g. monitorkit.testing) needs no configured Django.
    if name == "MonitoredCommand":
        from .command import MonitoredCommand

        return MonitoredCommand
    if name == "monitor":
        from .decorators import monitor

        return monitor
    if name == "track":
        from .recording.progress import track

        return track
    if name in ("Identity", "Outcome", "Status"):  # plain values: no Django needed
        from . import record

        return getattr(record, name)
    raise AttributeError(f"module 'monitorkit' has no attribute {name!r}")
