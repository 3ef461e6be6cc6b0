"""Moved to :mod:`monitorkit.stores.firebase.runs` (see :mod:`monitorkit.reporters`)."""

from . import alias

alias(__name__, "monitorkit.stores.firebase.runs")
