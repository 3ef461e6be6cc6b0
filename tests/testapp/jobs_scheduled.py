"""A decorated function that declares a schedule: only a watcher process imports this module.

Listed in ``MONITORKIT_MONITOR_MODULES`` by the process tests; never imported by the test
process itself, where its every-second schedule would show up as MISSED in other tests.
"""

from __future__ import annotations

import monitorkit


@monitorkit.monitor("every_second_job", schedule=1, start_margin=0.5)
def every_second_job() -> None:
    """Declared to run every second, and never run by the tests that watch it."""
