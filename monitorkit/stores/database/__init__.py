"""The embedded store: runs and the watcher's health in the project's own database.

Its faces: :class:`DatabaseReporter` writes and reads runs (``runs.py``, with the SQL of a
run's write in ``sql.py``); ``DatabaseHealthStore`` keeps health and alerts (``health.py``,
made by ``DatabaseReporter.health_store``); both convert timestamps with ``columns.py``.
"""

from .runs import DatabaseReporter

__all__ = ["DatabaseReporter"]
