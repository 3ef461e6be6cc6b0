"""``track(iterable)``: progress from a loop, for the run in progress on this thread."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from .run import current_run

T = TypeVar("T")


def track(iterable: Iterable[T], total: int | None = None) -> Iterator[T]:
    """Yield every item of ``iterable`` and count it done when the next one is asked for.

    ``total`` defaults to ``len(iterable)`` when it has one. Outside a monitored run this
    yields the items and does nothing else.
    """
    run = current_run.get()
    if run is None:
        yield from iterable
        return
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    run.progress_total = total
    run.progress_done = 0
    for done, item in enumerate(iterable, start=1):
        yield item
        run.progress_done = done
