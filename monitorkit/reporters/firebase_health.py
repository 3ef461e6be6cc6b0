"""Moved to :mod:`monitorkit.stores.firebase.health` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.firebase.health")
