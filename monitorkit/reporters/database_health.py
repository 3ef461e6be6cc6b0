"""Moved to :mod:`monitorkit.stores.database.health` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.database.health")
