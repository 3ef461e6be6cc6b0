"""Moved to :mod:`monitorkit.stores.firebase.auth` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.firebase.auth")
