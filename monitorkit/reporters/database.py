"""Moved to :mod:`monitorkit.stores.database.runs` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.database.runs")
