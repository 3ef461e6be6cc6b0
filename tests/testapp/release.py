"""Wait for a file the test creates: how a test command is held until the test lets it go."""

import os
import time

#: A command never waits longer than this, whatever the test does.
LIMIT_SECONDS = 60


def wait_for_release(path: str) -> None:
    """Return once ``path`` exists, or after :data:`LIMIT_SECONDS`."""
    deadline = time.monotonic() + LIMIT_SECONDS
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)
