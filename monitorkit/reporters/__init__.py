"""Moved: the stores live in :mod:`monitorkit.stores` (one package per store).

This package keeps every old import path working, with a ``DeprecationWarning``: each of its
modules is the new module under its old name (the same classes, so ``isinstance`` and
``MONITORKIT_STORE`` paths keep their meaning). It goes in the release after next.
"""

from __future__ import annotations

import importlib
import sys
import warnings

from ..stores import (
    Reporter,
    ReporterError,
    configured_reporters,
    import_reporters,
    store_reporter,
)

__all__ = [
    "Reporter",
    "ReporterError",
    "configured_reporters",
    "import_reporters",
    "store_reporter",
]

warnings.warn(
    "monitorkit.reporters is now monitorkit.stores (monitorkit.reporters.base is "
    "monitorkit.stores.base, monitorkit.reporters.database is monitorkit.stores.database, "
    "monitorkit.reporters.firebase is monitorkit.stores.firebase); the old paths go in a "
    "future release",
    DeprecationWarning,
    stacklevel=2,
)


def alias(old: str, new: str) -> None:
    """Make the module ``old`` (being imported) the module ``new``: one module, two names."""
    sys.modules[old] = importlib.import_module(new)
