"""Moved to :mod:`monitorkit.stores.health_store` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.health_store")
