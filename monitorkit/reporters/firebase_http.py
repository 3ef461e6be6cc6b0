"""Moved to :mod:`monitorkit.stores.firebase.http` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.firebase.http")
