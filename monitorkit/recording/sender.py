"""The one background thread that delivers records, so the command never waits on a backend.

``submit`` is what the command's side calls, from its own thread, the heartbeat thread or a
signal handler: it takes no lock that the interrupted code might hold (a ``deque`` append and a
non-blocking write to a socket pair), never blocks and never raises. When the queue is full the
event is dropped and counted, and the count is logged from the sender's thread.

``flush`` is the only wait a command ever has, at its end, and it is bounded. An event that a
later one of the same run makes redundant (a start or heartbeat followed by the finish) is
skipped, so a short command costs its backend one write, not three.

A heartbeat never queues behind another heartbeat of its run: it takes the queued one's place
(``submit``), so a slow backend holds at most one heartbeat per run here and the queue's room
is kept for outcomes. The sender also times its heartbeat writes (``beat_cost``): the heartbeat
thread spaces its beats to at least :data:`BEAT_PACE` times that cost
(``recording/heartbeat.py``), so monitorkit holds a slow store's write lock a tenth of the
time at most. On SQLite, whose readers wait while a writer commits, back-to-back heartbeat
commits on a busy disk starved the command's own queries into "database is locked".

One lane: a run's records go out one after another, in the order they were made, so its
outcome is always the last write a backend gets. An outcome made while a heartbeat is in
flight waits for that heartbeat's answer before its own request: up to one round trip more,
and only when the command ends within a round trip of a heartbeat (about round trip /
interval of runs: 0.3% at 100 ms and the default 30 s). Sending the outcome beside the
heartbeat, on a second connection, would save that wait but lose the order: the Realtime
Database applies the requests of two connections in whichever order they reach it, and a
heartbeat applied last would leave the run ``RUNNING``, to be judged killed later. Only a
conditional write (``if-match``) could make such a heartbeat lose, and Firebase takes one on
a PUT of one location only: a heartbeat writes two (the run's slot and ``latest/<id>``), so
every heartbeat of every run would cost two requests to save a fraction of a round trip in a
few runs. Benchmark row 16 measures the exit (``benchmarks/exit_latency.py``);
``tests/test_firebase_exit_processes.py`` holds the order.

Nothing is lost: each event is delivered under a deadline (the flush bound after it was made),
and a reporter retries until then (``monitorkit/retry.py``). A record still refused at its
deadline goes to the spool (``monitorkit/recording/spool.py``), and so does whatever is still
queued when the command's flush gives up. Once a reporter takes a write again, the sender delivers
what waits in the spool for that reporter, a batch per process.

A run's outcome may come with a review (``MonitoredRun._review``): its expectations about the
outcome, judged here just before the write, so the stored record says whether it met them; a
callable check is waited for at most ``expectations.check_bound`` (``monitorkit/expectations.py``).

Once per process, after a run's write went through and while nothing waits to be sent, the
sender takes one bounded look at the watcher's heartbeat (a callable the run's start hands it)
and logs a warning if no watcher runs: on this thread, never the command's. A record made
during that look waits for it (at most a second, usually one query);
a look that fails is silent.
"""

from __future__ import annotations

import collections
import logging
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .. import forks, retry
from ..record import RunRecord, Status
from ..stores.base import reporter_path

if TYPE_CHECKING:
    from ..stores.base import Reporter
    from .spool import Spool, SpooledRecord

logger = logging.getLogger("monitorkit")

#: How long a start waits for its run's finish before it is sent on its own. A command that
#: ends within this time costs one write instead of two; a longer one never notices.
START_SETTLE_SECONDS = 0.01
#: The longest a flush waits without going back to Python code, where a signal's handler runs.
SIGNAL_CHECK_SECONDS = 0.1
#: A heartbeat thread waits at least this many times its last write's cost between beats.
BEAT_PACE = 9.0
#: Spooled records one process delivers for one reporter class (the rest: the next process).
SPOOL_BATCH = 20


class Event:
    """One record for the reporters: a run's start, heartbeat or outcome, or one from the spool.

    ``deadline`` (monotonic seconds) is when retrying stops and the record goes to the spool.
    A plain slotted class rather than a dataclass: every monitored command imports this module,
    and a frozen dataclass compiles its generated methods at import (about 0.5 ms on 3.11).
    """

    __slots__ = ("deadline", "record", "reporters", "review", "spooled", "submitted")

    def __init__(
        self,
        record: RunRecord,
        reporters: Sequence[Reporter],
        submitted: float | None = None,
        deadline: float = 0.0,
        spooled: SpooledRecord | None = None,
        review: Callable[[RunRecord], None] | None = None,
    ) -> None:
        self.record = record
        self.reporters = reporters
        self.submitted = time.monotonic() if submitted is None else submitted
        self.deadline = deadline
        self.spooled = spooled
        self.review = review
        """Judges the outcome against its expectations before the write (``run._review``)."""

    def __repr__(self) -> str:
        return f"Event(run_id={self.record.run_id!r}, status={self.record.status!r})"


class Sender:
    """A bounded queue and the daemon thread that empties it into the reporters."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._events: collections.deque[Event] = collections.deque()
        self._dropped = 0
        self._dropped_logged = 0
        self._abandoned = False
        self._spooled: set[tuple[str, str]] = set()  # (run_id, reporter path) kept in the spool
        self._backups: set[tuple[str, str]] = set()  # of those, the ones still queued here
        self._spool_checked: set[str] = set()  # reporter paths whose spool this process read
        self._spool_reporters: dict[str, Reporter] = {}
        self._announced: collections.deque[tuple[str, str]] = collections.deque(maxlen=1000)
        #: Seconds the last heartbeat write took (all reporters); read by heartbeat threads.
        self.beat_cost = 0.0
        self._drained = threading.Event()
        # The one look at the watcher's heartbeat: asked for by a run's start, taken after a
        # write went through (``_delivered``), then never again in this process.
        self._watcher_look: Callable[[], None] | None = None
        self._watcher_looked = False
        self._look_prepared = True
        self._delivered = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._loop, name="monitorkit-sender", daemon=True)
        self._thread.start()

    def submit(
        self,
        record: RunRecord,
        reporters: Sequence[Reporter],
        timeout: float = 3.0,
        review: Callable[[RunRecord], None] | None = None,
    ) -> bool:
        """Queue one event, to be delivered within ``timeout`` seconds or spooled.

        ``review`` is called with the record on this sender's thread just before its write (a
        run's outcome judged against its expectations). Returns ``False`` when the queue was
        full and the event was dropped.
        """
        if _is_beat(record) and self._replace_queued_beat(record, reporters):
            return True
        if len(self._events) >= self.queue_size:
            self._dropped += 1
            return False
        now = time.monotonic()
        self._events.append(Event(record, reporters, now, now + timeout, review=review))
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the wake-up buffer is full: the thread is awake already
            pass
        return True

    def _replace_queued_beat(self, record: RunRecord, reporters: Sequence[Reporter]) -> bool:
        """Put a heartbeat in the place of its run's heartbeat that still waits; say if one did.

        The head is left alone (it may be in delivery). Should the sender take the replaced
        event meanwhile, it writes this newer heartbeat instead: one beat, never a lost outcome.
        """
        waiting = list(self._events)[1:]  # list() copies in one C call: safe against the sender
        for event in reversed(waiting):
            if (
                event.spooled is None
                and event.reporters == reporters
                and event.record.run_id == record.run_id
            ):
                if not _is_beat(event.record):
                    return False  # its start waits: the beat goes after it
                event.record = record
                return True
        return False

    def look_at_watcher(self, look: Callable[[], None]) -> None:
        """Ask for the process's one look at the watcher (no I/O here: called by a run's start).

        ``look`` reads and warns (the command side makes it, from ``health/watcher.py``: what
        records a run knows nothing of health); it runs once, on this thread, never raising.
        """
        if not self._watcher_looked and self._watcher_look is None:
            self._watcher_look = look
            self._look_prepared = False
            try:
                self._wake_w.send(b"\0")  # prepare it now, not when the run may be ending
            except OSError:
                pass

    @property
    def pending(self) -> int:
        """Events not yet delivered (the one being delivered included)."""
        return len(self._events)

    def flush(self, timeout: float, from_signal: bool = False) -> bool:
        """Wait at most ``timeout`` seconds for every queued event; return whether all went.

        From a signal handler it polls instead of waiting on an ``Event``: the handler may have
        interrupted this very thread inside the ``Event``'s lock. Otherwise it waits in slices
        of :data:`SIGNAL_CHECK_SECONDS`: a signal the kernel hands to another thread of the
        process does not wake this one, and Python runs its handler only once this thread is
        back in Python code; a kill signal during the final flush must act within a slice, not
        once the whole bound is spent (seen on Python 3.10).
        """
        deadline = time.monotonic() + timeout
        self._abandoned = False
        if from_signal:
            return self._poll_until_drained(deadline)
        while self._events:
            self._drained.clear()
            if not self._events:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._drained.wait(min(remaining, SIGNAL_CHECK_SECONDS))
        return True

    def _poll_until_drained(self, deadline: float) -> bool:
        pause = 0.001
        while self._events:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._abandoned:
                return False
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.01)
        return True

    def abandon_flush(self) -> None:
        """Make a flush in progress on this thread give up now (a second signal arrived)."""
        self._abandoned = True

    def spool_pending(self, run_id: str | None = None, backup: bool = False) -> int:
        """Put the newest queued state of every run (or of one) into the spool; return how many.

        Called on the command's thread when its flush gives up (or cannot succeed): the
        process is about to end, and with it this daemon thread and its queue. The event being
        delivered right now is included; if its delivery still succeeds, the spooled copy is
        a duplicate by run id, which delivery ignores.

        With ``backup`` the process is expected to live on and its queue to deliver them (the
        copies are then discarded); the spool only keeps them in case it does not. Nothing is
        logged (the caller says why, once), and they are not read back from the spool while
        the queue still holds them.
        """
        newest: dict[tuple[str, int], tuple[Reporter, RunRecord]] = {}
        for event in list(self._events):  # list() copies in one C call: safe against appends
            if event.spooled is not None:
                continue  # its file is still in the spool
            if run_id is not None and event.record.run_id != run_id:
                continue
            for reporter in event.reporters:
                newest[(event.record.run_id, id(reporter))] = (reporter, event.record)
        kept = 0
        for reporter, record in newest.values():
            if self._keep(reporter, record, backup):
                kept += 1
        return kept

    def _keep(self, reporter: Reporter, record: RunRecord, backup: bool = False) -> bool:
        try:
            kept = _spool_of(reporter).put(reporter, record, quiet=backup)
        except Exception:
            logger.exception("monitorkit could not spool run %s", record.run_id)
            return False
        if kept:
            path = reporter_path(reporter)
            self._spooled.add((record.run_id, path))
            if backup:
                self._backups.add((record.run_id, path))
            else:
                self._backups.discard((record.run_id, path))
                self._spool_checked.discard(path)  # look again once the backend takes a write
        return kept

    def _loop(self) -> None:
        while True:
            if not self._look_prepared:
                self._prepare_look()
            if not self._events:
                if self._watcher_look is not None and self._delivered:
                    self._look_at_watcher()
                    continue
                self._sleep(1.0)
                self._report_drops()
                continue
            # Peek, deliver, then pop: an empty deque means everything was delivered.
            event = self._events[0]
            settle = event.submitted + START_SETTLE_SECONDS - time.monotonic()
            starting = event.spooled is None and event.record.status is Status.STARTED
            if starting and settle > 0 and len(self._events) == 1:
                self._sleep(settle)  # the run may end right away: then only its finish goes
                continue
            # Judged before the delivery, outside it: a check is the user's code, on a thread of
            # its own, and a fork need not wait for it.
            self._review(event)
            with forks.busy():  # no fork in the middle of a delivery (monitorkit/forks.py)
                try:
                    if event.spooled is not None:
                        self._deliver_spooled(event)
                    else:
                        if not self._superseded(event):
                            began = time.monotonic()
                            self._deliver(event)
                            if _is_beat(event.record):
                                self.beat_cost = time.monotonic() - began
                        self._announce(event)
                finally:
                    self._events.popleft()
                    if not self._events:
                        self._drained.set()

    def _prepare_look(self) -> None:
        """Import what the look needs now, at the run's start (``WatcherLook.prepare``)."""
        self._look_prepared = True
        prepare = getattr(self._watcher_look, "prepare", None)
        if prepare is None:
            return
        try:
            prepare()
        except Exception:  # noqa: BLE001 - the look itself says nothing when it fails either
            pass

    def _look_at_watcher(self) -> None:
        """Take the one look (see :meth:`look_at_watcher`); it never raises.

        A look that fails says nothing: the run's own writes to the same store say what is
        wrong with it (once, in a database not migrated yet), and a warning that may be false
        is worse than none.
        """
        look, self._watcher_look = self._watcher_look, None
        self._watcher_looked = True
        if look is None:
            return
        with forks.busy():  # it reads through the reporters' connections, as a delivery does
            try:
                look()
            except Exception:  # noqa: BLE001 - a look that fails costs only itself
                pass

    def _review(self, event: Event) -> None:
        """Let the event's review judge its record, once; a review that fails costs only itself."""
        review, event.review = event.review, None
        if review is None:
            return
        try:
            review(event.record)
        except Exception:
            logger.exception("monitorkit could not judge run %s", event.record.run_id)

    def _sleep(self, timeout: float) -> None:
        """Wait until woken by ``submit`` or ``timeout`` passes."""
        select.select([self._wake_r], [], [], timeout)
        try:
            self._wake_r.recv(4096)
        except (BlockingIOError, OSError):
            pass

    def _announce(self, event: Event) -> None:
        """Send the run's Django signal (``monitorkit/signals.py``), once per start and outcome.

        A start is announced even when its write was skipped for the finish that followed it;
        a run ended by a signal and then by its exception is announced once.
        """
        if event.record.status is Status.RUNNING:
            return
        key = (event.record.run_id, _event_name(event.record))
        if key in self._announced:
            return
        self._announced.append(key)
        signals = sys.modules.get("monitorkit.signals")
        if signals is None:  # never imported: no receiver can be connected to its signals
            return
        try:
            signals.send_run_event(event.record)
        except Exception:
            logger.exception("monitorkit could not send the signal of run %s", event.record.run_id)

    def _deliver(self, event: Event) -> None:
        """Hand one event to each reporter; a failure sends the record to the spool."""
        for reporter in event.reporters:
            with retry.deadline(event.deadline):
                delivered = deliver_to(reporter, event.record)
            path = reporter_path(reporter)
            if not delivered:
                self._keep(reporter, event.record)
                continue
            self._delivered = True
            key = (event.record.run_id, path)
            # Let go of the spooled copy only once what it holds is delivered: a start written
            # after its run's finish was spooled leaves the finish to its own delivery.
            if key in self._spooled and _spool_of(reporter).discard(reporter, event.record):
                self._spooled.discard(key)
                self._backups.discard(key)
            if path not in self._spool_checked:
                self._spool_checked.add(path)
                self._queue_spooled(reporter, path)

    def _queue_spooled(self, reporter: Reporter, path: str) -> None:
        """Queue a batch of what waits in the spool for this reporter's backend (it is up).

        Only the files that name this reporter's class are taken, and this reporter's class
        delivers them (``spool.deliverable``): nothing in a file chooses what runs.
        """
        try:
            if not os.path.isdir(reporter.settings.spool_dir):
                return  # nothing was ever spooled here: no need to import the spool's machinery
            from .spool import deliverable

            spool = _spool_of(reporter)
            waiting = [
                found
                for found in deliverable(spool, {path: reporter}, SPOOL_BATCH + len(self._backups))
                if (found[1].record.run_id, path) not in self._backups  # the queue delivers these
            ][:SPOOL_BATCH]
        except Exception:
            logger.exception("monitorkit could not read its spool")
            return
        if not waiting:
            return
        self._spool_reporters.setdefault(path, type(reporter)(reporter.settings))
        timeout = reporter.settings.flush_timeout
        for _, item in waiting:
            now = time.monotonic()
            self._events.append(Event(item.record, (reporter,), now, now + timeout, spooled=item))

    def _deliver_spooled(self, event: Event) -> None:
        item = event.spooled
        assert item is not None
        reporter = self._spool_reporters[item.reporter]
        from .spool import deliver

        with retry.deadline(event.deadline):
            delivered = deliver(_spool_of(reporter), reporter, item)
        if not delivered:
            # The backend refuses again: leave the rest for a later process.
            pending = [e for e in list(self._events) if e.spooled is not None]
            for other in pending:
                if other.spooled is not None and other.spooled.reporter == item.reporter:
                    try:
                        self._events.remove(other)
                    except ValueError:
                        pass

    def _superseded(self, event: Event) -> bool:
        """Return whether a later queued event of the same run makes ``event`` redundant.

        Every reporter writes a whole record and stores a run it has not seen yet, whatever
        the event: a later heartbeat or finish carries everything a start or heartbeat would.
        """
        if event.record.is_finished:
            return False
        run_id = event.record.run_id
        later = list(self._events)[1:]  # list() copies in one C call: safe against appends
        return any(
            other.spooled is None
            and other.record.run_id == run_id
            and other.reporters == event.reporters
            for other in later
        )

    def _report_drops(self) -> None:
        dropped = self._dropped
        if dropped != self._dropped_logged:
            logger.warning(
                "monitorkit dropped %d record update(s): the queue of %d was full "
                "(the backend is slower than the commands)",
                dropped - self._dropped_logged,
                self.queue_size,
            )
            self._dropped_logged = dropped


def _is_beat(record: RunRecord) -> bool:
    """Return whether a record is a heartbeat's (a running run's, not its start or outcome)."""
    return record.status is Status.RUNNING


def _spool_of(reporter: Reporter) -> Spool:
    """Return the spool of a reporter's settings (imported when first needed: most runs never
    need it, and each module a command imports is time its process takes)."""
    from .spool import Spool

    return Spool.for_settings(reporter.settings)


def deliver_to(reporter: Reporter, record: RunRecord) -> bool:
    """Hand one record to one reporter; return whether it took it (a failure is logged)."""
    try:
        reporter.write(record)
    except Exception as exc:  # noqa: BLE001 - monitoring must never fail the command
        logger.error(
            "monitorkit could not deliver the %s of run %s (command %r) to %s: %s",
            _event_name(record),
            record.run_id,
            record.id,
            reporter.describe(),
            reporter.redact(f"{type(exc).__name__}: {exc}"),
        )
        return False
    return True


def _event_name(record: RunRecord) -> str:
    if record.is_finished:
        return "outcome"
    return "start" if record.status is Status.STARTED else "heartbeat"


_sender: Sender | None = None
_sender_lock = threading.Lock()
_sender_pid = os.getpid()


def get_sender(queue_size: int = 1000) -> Sender:
    """Return this process's sender, starting it on first use (and anew after a fork)."""
    global _sender, _sender_pid
    with _sender_lock:
        if _sender is None or _sender_pid != os.getpid():
            _sender = Sender(queue_size)
            _sender_pid = os.getpid()
        return _sender


def _forget_after_fork() -> None:
    """In a forked child: the parent's sender has no thread here; a run of the child starts one."""
    global _sender, _sender_lock
    _sender = None
    _sender_lock = threading.Lock()


forks.hold_locks(lambda: [_sender_lock], _forget_after_fork)
