"""Run ``manage.py`` in this interpreter and stamp the moments row 14 of the benchmarks times.

    python benchmarks/timeline_probe.py STAMPS_FILE path/to/manage.py COMMAND [ARGS...]

Row 14 (``benchmarks/timeline.py``) splits one ``manage.py`` process into phases without
changing monitorkit or Django: this probe runs ``manage.py`` as ``python manage.py`` would
(same ``sys.argv``, same ``sys.path[0]``) and records ``time.monotonic()`` (CLOCK_MONOTONIC, the
clock the parent reads too) at each boundary, from the outside of what it wraps:

- its own first line (the interpreter is up);
- ``django.setup()`` returned; ``ManagementUtility.fetch_command`` returned (the command's
  module, and with it monitorkit's, imported);
- the command instance's ``execute`` entered and left, and its ``check`` (the system checks)
  left. The wrappers are set on the instance, outside the class's ``execute``, which monitorkit
  wraps to end the run (and flush) when ``execute`` does, so both are inside the stamps;
- the command's ``handle`` body entered and left: the command ``timeline_noop`` calls
  :func:`stamp` itself, inside monitorkit's wrapper;
- ``manage.py`` returned; the last ``atexit`` handler ran (it is registered first, so it runs
  last, after the interpreter joined its non-daemon threads and ran every other handler).

An audit hook also notes, on whatever thread, when ``requests`` starts being imported and each
``socket.connect``: the sender thread's side of the story. The stamps are written to
STAMPS_FILE at the very end (one ``name<TAB>thread<TAB>seconds`` line each); the parent adds the
process's spawn and its reaping, and computes the phases.
"""

import time

T0 = time.monotonic()

import atexit  # noqa: E402 - everything after the first stamp
import os  # noqa: E402
import runpy  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from typing import Any  # noqa: E402

STAMPS: list[tuple[str, str, float]] = [("probe", "MainThread", T0)]
WATCHED_EVENTS = frozenset({"import", "socket.connect"})


def stamp(name: str) -> None:
    """Note ``name`` now, on the current thread (cheap: one append)."""
    STAMPS.append((name, threading.current_thread().name, time.monotonic()))


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in WATCHED_EVENTS:
        return
    if event == "socket.connect":
        stamp("socket.connect")
    elif args[0] == "requests" and "requests" not in sys.modules:
        stamp("import requests")


def _write(path: str) -> None:
    stamp("atexit")
    with open(path, "w") as out:
        out.writelines(f"{name}\t{thread}\t{moment!r}\n" for name, thread, moment in STAMPS)


def _after(function: Any, name: str) -> Any:
    """Return ``function`` stamping ``name`` when it returns (or raises)."""

    def stamped(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            stamp(name)

    return stamped


def _instrument(command: Any) -> None:
    """Stamp the instance's ``execute`` (entry, exit) and ``check`` (exit)."""
    execute = command.execute

    def stamped_execute(*args: Any, **kwargs: Any) -> Any:
        stamp("execute entry")
        try:
            return execute(*args, **kwargs)
        finally:
            stamp("execute exit")

    command.execute = stamped_execute
    command.check = _after(command.check, "checks done")


def main() -> None:
    stamps_file, manage, *arguments = sys.argv[1:]
    atexit.register(_write, stamps_file)  # first registered, so it runs last
    sys.addaudithook(_audit)
    # The command imports this module by name to stamp its handle: it must find this one.
    sys.modules.setdefault("benchmarks.timeline_probe", sys.modules[__name__])

    import django
    from django.core.management import ManagementUtility

    django.setup = _after(django.setup, "django.setup")
    fetch_command = ManagementUtility.fetch_command

    def stamped_fetch_command(self: Any, subcommand: str) -> Any:
        command = fetch_command(self, subcommand)
        stamp("command loaded")
        _instrument(command)
        return command

    ManagementUtility.fetch_command = stamped_fetch_command  # type: ignore[method-assign]
    sys.argv = [manage, *arguments]
    sys.path[0] = os.path.dirname(os.path.abspath(manage))  # as ``python manage.py`` sets it
    try:
        runpy.run_path(manage, run_name="__main__")
    finally:
        stamp("manage.py returned")


if __name__ == "__main__":
    main()
