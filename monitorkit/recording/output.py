"""The output tail: a bounded ring of what a run writes, and the stream proxies that feed it.

What the command prints must reach its stream exactly as without monitorkit: the same bytes, in
the same order, with the same buffering and flushes. So nothing here reads, decodes or buffers
anything on the way: a :class:`Tee` hands every call to the stream it stands in for, unchanged,
and after a write that succeeded it gives the *same object* to each :class:`OutputTail` active in
the current context. A tail keeps those objects as they are (``str`` or ``bytes``); only
:meth:`OutputTail.text`, read by the heartbeat and at the end of the run, joins and decodes them.

Which tails are active is a :mod:`contextvars` variable, so two runs in two threads each keep
their own output, and a thread a run starts (a fresh context) is not in the run's tail.

``sys.stdout`` and ``sys.stderr`` are Tees of what they were while at least one run captures
(each :class:`Capture` counts); the last one to stop puts the originals back, unless someone
else has replaced the stream meanwhile (then theirs stays).
"""

from __future__ import annotations

import contextvars
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import forks

Chunk = str | bytes

#: The output tails of the runs of this context.
_active: contextvars.ContextVar[tuple[OutputTail, ...]] = contextvars.ContextVar(
    "monitorkit_output_tails", default=()
)
_active_tails = _active.get

#: Units a tail holds beyond its limit before it drops the oldest writes: the bigger, the rarer
#: (and so cheaper per write) the trims.
TRIM_SLACK = 64 * 1024
#: A write bigger than the tail is cut to its end, then to just after its first blank (looked for
#: in at most this many units), so a secret or a multi-byte character is never kept in half.
CUT_SEARCH = 1024


class OutputTail:
    """The end of what one run wrote, at least ``limit`` units of it, kept as written.

    ``limit`` counts characters of ``str`` writes and bytes of ``bytes`` writes. The ring is a
    list trimmed, by whole writes from the oldest, once it holds ``TRIM_SLACK`` more than the
    limit: a write costs an append and an addition (no copy, no decoding), a trim comes once in
    hundreds of writes, and the memory stays under the limit, the slack and the one write
    being taken.
    """

    __slots__ = ("_chunks", "_high", "_size", "limit")

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("an output tail keeps at least one unit")
        self.limit = limit
        self._high = limit + TRIM_SLACK
        self._chunks: list[Chunk] = []
        self._size = 0

    def append(self, chunk: Any) -> None:
        """Keep ``chunk`` (what was written, once the stream took it)."""
        if type(chunk) is not str and type(chunk) is not bytes:
            chunk = _plain(chunk)
            if chunk is None:
                return
        # Tee.write does these three lines itself (one call less per write): keep them alike.
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > self._high:
            self._trim()

    def text(self) -> str:
        """Return the kept output as text, from the start of a write, bytes decoded as UTF-8.

        At least the last ``limit`` units written are in it (when that much was written), and
        it starts where a write started (or at a blank, for a write bigger than the tail), so
        secrets can be scrubbed from it before it is cut to length. Safe to call from another
        thread while the run writes.
        """
        chunks = self._snapshot()
        parts: list[str] = []
        pending: list[bytes] = []
        for chunk in chunks[len(chunks) - _covering(chunks, self.limit) :]:
            if type(chunk) is bytes:
                pending.append(chunk)
                continue
            if pending:
                parts.append(b"".join(pending).decode("utf-8", "replace"))
                pending = []
            parts.append(chunk)  # type: ignore[arg-type]  # str: the only other kind kept
        if pending:
            parts.append(b"".join(pending).decode("utf-8", "replace"))
        return "".join(parts)

    def _snapshot(self) -> tuple[Chunk, ...]:
        # Under the GIL ``tuple(list)`` is one C call and cannot see a change halfway; should
        # it ever fail while the list changes, copy again.
        while True:
            try:
                return tuple(self._chunks)
            except RuntimeError:
                continue

    def _trim(self) -> None:
        chunks, limit = self._chunks, self.limit
        last = chunks[-1]
        if len(last) >= limit:  # one write fills the tail alone
            kept = _after_first_blank(last[-limit:]) if len(last) > limit else last
            chunks[:] = [kept]
            self._size = len(kept)
            return
        del chunks[: len(chunks) - _covering(chunks, limit)]
        self._size = sum(map(len, chunks))


def _covering(chunks: Sequence[Chunk], limit: int) -> int:
    """Return how many of the newest ``chunks`` together hold at least ``limit`` units."""
    total = 0
    for count, size in enumerate(map(len, reversed(chunks)), 1):
        total += size
        if total >= limit:
            return count
    return len(chunks)


def _after_first_blank(cut: Chunk) -> Chunk:
    """Return a cut write from just after its first blank (in its first quarter, at most
    ``CUT_SEARCH`` units), else without that quarter: no half secret, no half character."""
    window = min(CUT_SEARCH, len(cut) // 4)
    # Compiled here, not at import (re keeps it cached): most runs never cut a write.
    if isinstance(cut, bytes):
        blank = re.compile(rb"\s").search(cut, 0, window)
        return cut[blank.end() if blank else window :]
    found = re.compile(r"\s").search(cut, 0, window)
    return cut[found.end() if found else window :]


def _plain(chunk: Any) -> Chunk | None:
    """Return a written object other than ``str``/``bytes`` as one, or ``None`` to skip it.

    A ``bytearray`` or ``memoryview`` is copied: its owner may reuse it after the write.
    """
    if isinstance(chunk, str):
        return str.__str__(chunk)
    try:
        return bytes(memoryview(chunk))
    except TypeError:
        return None  # a stream of the user's that takes other objects: nothing to keep


def _teeing_write(target_write: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return the ``write`` of a Tee: the target's, then the same object to each active tail.

    A closure in an instance slot, not a method: the write path is every ``print``, and this
    is the cheapest Python can make it (no attribute look-up, no bound method).
    """

    def write(data: Any) -> Any:
        written = target_write(data)
        for tail in _active_tails():
            if type(data) is str or type(data) is bytes:
                tail._chunks.append(data)  # OutputTail.append, inlined
                tail._size += len(data)
                if tail._size > tail._high:
                    tail._trim()
            else:
                tail.append(data)
        return written

    return write


class Tee:
    """Stand in for a stream: every call goes to it unchanged; writes also go to the tails.

    ``buffer`` is a Tee of the stream's buffer, so binary writes to ``sys.stdout.buffer`` are
    kept too. A Tee is never made of a Tee (:func:`tee_of`): nothing is kept twice.
    """

    __slots__ = ("_buffer_tee", "_target", "write")

    def __init__(self, target: Any) -> None:
        set_own = object.__setattr__
        set_own(self, "_target", target)
        set_own(self, "write", _teeing_write(target.write))
        set_own(self, "_buffer_tee", None)

    @property
    def target(self) -> Any:
        """The stream this Tee stands in for."""
        return self._target

    def writelines(self, lines: Iterable[Any]) -> None:
        lines = list(lines)
        self._target.writelines(lines)
        for tail in _active_tails():
            for line in lines:
                tail.append(line)

    @property
    def buffer(self) -> Tee:
        raw = self._target.buffer  # AttributeError: the stream has none, nor has the Tee
        tee: Tee | None = self._buffer_tee
        if tee is None or tee._target is not raw:
            tee = tee_of(raw)
            object.__setattr__(self, "_buffer_tee", tee)
        return tee

    def __getattr__(self, name: str) -> Any:
        # Not ``self._target``: on a Tee whose slots are unset (a copy) that would recurse.
        return getattr(object.__getattribute__(self, "_target"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __repr__(self) -> str:
        return f"<monitorkit Tee of {self._target!r}>"


def tee_of(stream: Any) -> Tee:
    """Return a Tee of ``stream``: the process-wide one when it is ``sys.stdout``'s original."""
    if isinstance(stream, Tee):
        return stream
    for tee in _installed.values():
        if tee.target is stream:
            return tee
    return Tee(stream)


# --- sys.stdout and sys.stderr ------------------------------------------------------------------

_STREAMS = ("stdout", "stderr")
_lock = threading.Lock()
_captures = 0
_installed: dict[str, Tee] = {}


def _new_lock() -> None:
    global _lock
    _lock = threading.Lock()


forks.hold_locks(lambda: [_lock], _new_lock)  # a child's runs install and count as the parent's


def _install() -> None:
    global _captures
    with _lock:
        if _captures == 0:
            for name in _STREAMS:
                stream = getattr(sys, name, None)
                if stream is not None and not isinstance(stream, Tee):
                    tee = Tee(stream)
                    _installed[name] = tee
                    setattr(sys, name, tee)
        _captures += 1


def _uninstall() -> None:
    global _captures
    with _lock:
        _captures -= 1
        if _captures:
            return
        for name, tee in _installed.items():
            if getattr(sys, name, None) is tee:  # replaced meanwhile: the replacement stays
                setattr(sys, name, tee.target)
        _installed.clear()


class Capture:
    """One run's capture: its tail is active in this context and the process streams are Tees.

    ``stop`` undoes both; the tail stays readable.
    """

    def __init__(self, tail: OutputTail) -> None:
        self.tail = tail
        _install()
        self._token = _active.set((*_active.get(), tail))
        self._stopped = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            _active.reset(self._token)
        except ValueError:  # stopped from another context: take just this tail out there
            _active.set(tuple(t for t in _active.get() if t is not self.tail))
        _uninstall()
