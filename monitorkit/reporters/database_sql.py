"""Moved to :mod:`monitorkit.stores.database.sql` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.database.sql")
