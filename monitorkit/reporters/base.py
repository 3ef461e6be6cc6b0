"""Moved to :mod:`monitorkit.stores.base` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.base")
