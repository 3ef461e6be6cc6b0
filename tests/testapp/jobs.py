"""Plain functions monitored with ``monitorkit.monitor``, run by real processes in the tests.

``MONITORKIT_TWIN=plain`` leaves them undecorated (see ``twin.py``), so a test can compare a
process that monitors them with the very same code run without monitorkit. Nothing here
declares a schedule: importing this module in the test process changes no expectation.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any

import monitorkit


def monitor(name: str, **options: Any) -> Callable[[Any], Any]:
    """``monitorkit.monitor``, or nothing at all in the unmonitored twin."""
    if os.environ.get("MONITORKIT_TWIN") == "plain":
        return lambda function: function
    return monitorkit.monitor(name, **options)


@monitor("greet_job", metadata={"queue": "default"})
def greet(who: str) -> str:
    print(f"hello {who}")
    return who.upper()


@monitor("async_greet_job")
async def async_greet(who: str) -> str:
    await asyncio.sleep(0)
    print(f"hello again {who}")
    return who


@monitor("explode_job")
def explode(token: str) -> None:
    print("about to fail", flush=True)
    raise RuntimeError("the upstream feed is down")


def main() -> None:
    """Greet twice, then fail like a task whose error nobody catches."""
    print(greet("ann"))
    print(asyncio.run(async_greet("bob")))
    sys.stdout.flush()
    explode(token="hunter2")
