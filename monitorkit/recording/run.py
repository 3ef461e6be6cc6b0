"""One monitored run: its record, where it goes, and the steps that change it.

The mixins decide *what* a run is (its id, its outcome, its metadata); this module is where the
record is changed and handed to the sender. Every change happens under one re-entrant lock, so
the heartbeat thread and a signal handler on the command's thread never interleave halfway.

A run belongs to the process that started it. A forked child inherits the parent's runs, but
never speaks for them: in any other process every step here is a no-op (a child's
``SystemExit`` or ``Pool.terminate()``'s SIGTERM neither finishes, flushes nor spools the
parent's run), and the child gets new locks for them (``monitorkit/forks.py``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import forks
from ..cleaning import MESSAGE_LIMIT, NAME_LIMIT, Cleaner, storable_text
from ..conf import MonitorSettings
from ..record import Identity, Outcome, RunRecord, Status, utcnow
from ..release import process_release
from ..stores.base import Reporter
from .cost import RunQueries, run_cost
from .output import OutputTail
from .sender import get_sender

if TYPE_CHECKING:  # imported only by a run whose command declares one
    from ..concurrency import Admission
    from ..expectations import OutcomeExpectation, Usual

logger = logging.getLogger("monitorkit")

current_run: contextvars.ContextVar[MonitoredRun | None] = contextvars.ContextVar(
    "monitorkit_current_run", default=None
)


__all__ = ["Identity", "MonitoredRun", "current_run"]  # Identity: where hooks found it first


class MonitoredRun:
    """The live state of one run and the only place its record changes."""

    def __init__(
        self, identity: Identity, reporters: Sequence[Reporter], settings: MonitorSettings
    ) -> None:
        now = utcnow()
        self.identity = identity
        # Every value of the record passes through here: plain, storable, secrets scrubbed.
        self._clean = Cleaner(identity.secrets, identity.id)
        self.reporters = tuple(reporters)
        self.settings = settings
        self.record = RunRecord(
            id=identity.id,
            name=self._clean.text(identity.name, "name", NAME_LIMIT) or "",
            params=self._clean.text(identity.params, "params") or "",
            run_id=uuid.uuid4().hex,
            host=self._clean.text(socket.gethostname(), "host", NAME_LIMIT) or "",
            pid=os.getpid(),
            started=now,
            latest=now,
            release=self._release(),
        )
        self.killed_by: str | None = None
        # Progress is written by the command with plain attribute stores (no lock, no I/O)
        # and read by the heartbeat.
        self.progress_done: int | float | None = None
        self.progress_total: int | float | None = None
        # The output tail (``OutputTailMixin``), written by the command, read at each record.
        self.output_tail: OutputTail | None = None
        # What a finished run is expected to be (``OutcomeExpectationMixin``): judged on the
        # sender's thread, just before the outcome is written (:meth:`_review`).
        self.expectation: OutcomeExpectation | None = None
        self._pid = self.record.pid
        self._lock = threading.RLock()
        _live_runs.add(self)
        self._sender = get_sender(settings.queue_size)
        self._token: contextvars.Token[MonitoredRun | None] | None = None
        self._flush_deadline: float | None = None
        self._queries: RunQueries | None = None  # counted from the start on the run's thread
        #: The ``SKIPPED`` outcome of a start the concurrency policy refused (:meth:`refuse`).
        self.refused: Outcome | None = None

    def in_own_process(self) -> bool:
        """Return whether this is the process that started the run (not a forked child)."""
        return os.getpid() == self._pid

    # Steps, in the order a run goes through them.
    def start(
        self, metadata: dict[str, Any] | None, look: Callable[[], None] | None = None
    ) -> None:
        """Record the start and make this the current run of this context.

        ``look``: the command side's one look at the watcher, handed to the sender, which takes
        it on its own thread (``Sender.look_at_watcher``).
        """
        with self._lock:
            self.record.metadata = self._clean.data(metadata or {})
            for reporter in self.reporters:
                reporter.bind()
            self._count_queries()
            self._submit()
        if look is not None:
            self._sender.look_at_watcher(look)
        self._token = current_run.set(self)

    def admit(self, limit: int) -> Admission | None:
        """Ask the first store that keeps leases for one, before the run starts (one round trip).

        ``None``: the run goes on without a lease: no store keeps leases, or the lease could
        not be taken (the store is down, say): logged, and the command runs (it comes first).
        """
        record = self.record.snapshot()
        for reporter in self.reporters:
            try:
                answer = reporter.take_lease(record, limit)
            except Exception as err:  # noqa: BLE001 - whatever it is, the command runs
                logger.warning(
                    "monitorkit could not take a lease for command %r in %s (%s); it runs "
                    "without one",
                    record.id,
                    reporter.describe(),
                    reporter.redact(str(err)),
                )
                return None
            if answer is not None:
                return answer
        logger.warning(
            "monitorkit: command %r declares a concurrency limit, but none of its stores (%s) "
            "keeps leases; it runs without one",
            record.id,
            ", ".join(r.describe() for r in self.reporters),
        )
        return None

    def refuse(self, outcome: Outcome, metadata: dict[str, Any] | None) -> None:
        """Record a start that the concurrency policy refused: one ``SKIPPED`` record, flushed.

        Nothing else of a run happens: no start record (a refused start must never look like
        a holder to another start), no heartbeat, and ``handle`` is not called.
        """
        self.refused = outcome
        with self._lock:
            self.record.metadata = self._clean.data(metadata or {})
            self._finish(outcome)
        self.flush()

    def beat(self) -> None:
        """Record a heartbeat: the time, ``RUNNING`` and the progress so far."""
        if not self.in_own_process():
            return
        with self._lock:
            if self.record.is_finished:
                return
            self.record.latest = utcnow()
            self.record.status = Status.RUNNING
            self.record.message = "Command running"
            self._take_progress()
            self._take_output()
            self._submit()

    def beat_cost(self) -> float:
        """Seconds the sender's last heartbeat write took (the heartbeat paces itself by it)."""
        return self._sender.beat_cost

    def killed(self, signal_name: str, exit_code: int) -> None:
        """Record that a signal is ending the process, and make sure the record survives it.

        The record is delivered within the flush bound, or kept in the spool. A run that
        already has its outcome (the signal came during the final flush) keeps it, and what is
        not yet delivered goes to the spool at once: the process was asked to end, and the
        command itself is done. So it does too when the interrupted code holds what a reporter
        needs to write (an open SQLite transaction, say): waiting could only cost the bound.
        """
        if not self.in_own_process():
            return
        with self._lock:
            already_finished = self.record.is_finished
            if not already_finished:
                self.killed_by = signal_name
                self._finish(Outcome(Status.SYSTEM_KILL, f"Killed by {signal_name}", exit_code))
        if already_finished or self._write_blocked():
            self._sender.spool_pending()
            return
        self.flush(from_signal=True)

    def abandon_flush(self) -> None:
        """Stop waiting now (a second signal came during the flush): keep the rest in the spool.

        The run's flush bound is spent with it: a later flush of this run spools at once.
        """
        if not self.in_own_process():
            return
        self._flush_deadline = time.monotonic()
        self._sender.abandon_flush()
        self._sender.spool_pending()

    def finish(self, outcome: Outcome, metadata: dict[str, Any] | None = None) -> None:
        """Record the outcome; a run a signal already ended keeps ``SYSTEM_KILL``."""
        if not self.in_own_process():
            return
        with self._lock:
            if metadata is not None:
                self.record.metadata = self._clean.data(metadata)
            if self.killed_by is not None:
                code = self.record.exit_code if outcome.exit_code is None else outcome.exit_code
                outcome = dataclasses.replace(
                    outcome,
                    status=Status.SYSTEM_KILL,
                    message=f"Killed by {self.killed_by}",
                    exit_code=code,
                )
            self._finish(outcome)
        if self._token is not None:
            current_run.reset(self._token)
            self._token = None

    def flush(self, from_signal: bool = False) -> bool:
        """Wait, at most the flush bound, for this run's records to be delivered.

        The bound is the run's, not each call's: a kill signal's flush that runs out and the
        final one together never hold the process longer than ``MONITORKIT_FLUSH_TIMEOUT``
        (a flush that delivers everything gives the next one a whole bound again). What is not
        delivered by then is kept in the spool, to be delivered by a later run. A run that ends
        while its own thread keeps the reporter from writing (a command nested in its caller's
        SQLite transaction) does not wait at all. In a forked child there is nothing of this
        run to wait for.
        """
        if not self.in_own_process():
            return True
        timeout = self.settings.flush_timeout
        if not from_signal and self._write_blocked():
            # Nested in the caller's own open transaction (SQLite): nothing can be written
            # before the caller goes on, which it does only once we return. Expected, so quiet;
            # the records still queued are delivered once the transaction ends, if the process
            # lives on, and the spool keeps them in case it does not.
            kept = self._sender.spool_pending(self.record.run_id, backup=True)
            logger.info(
                "monitorkit: command %r ends inside its caller's open transaction; its record "
                "goes out after it (%d kept in the spool meanwhile)",
                self.record.id,
                kept,
            )
            return False
        if self._flush_deadline is None:
            self._flush_deadline = time.monotonic() + timeout
        remaining = max(0.0, self._flush_deadline - time.monotonic())
        delivered = self._sender.flush(remaining, from_signal=from_signal)
        if delivered:
            self._flush_deadline = None
        else:
            pending = self._sender.pending
            kept = self._sender.spool_pending()
            logger.warning(
                "monitorkit stopped waiting after %.1f s (MONITORKIT_FLUSH_TIMEOUT) with %d "
                "record update(s) of command %r not yet delivered to %s; %d run record(s) kept "
                "in the spool for the next run to deliver; the command was not held longer",
                timeout,
                pending,
                self.record.id,
                ", ".join(r.describe() for r in self.reporters),
                kept,
            )
        return delivered

    def interrupt_command(self) -> None:
        """Interrupt what the command is running in the reporters' backends (a signal ends it).

        Called from another thread (``monitorkit/recording/wakeup.py``) while the command's thread
        may be inside a long query, so that our signal handler can run.
        """
        for reporter in self.reporters:
            try:
                reporter.interrupt_command()
            except Exception:
                logger.exception("monitorkit: %s.interrupt_command failed", reporter.describe())

    def release(self) -> None:
        """Let the reporters drop what they held for this run (on the command's thread)."""
        if not self.in_own_process():
            return
        queries, self._queries = self._queries, None
        if queries is not None:
            try:
                queries.stop()
            except Exception:
                logger.exception("monitorkit: could not stop counting the run's queries")
        for reporter in self.reporters:
            try:
                reporter.unbind()
            except Exception:
                logger.exception("monitorkit: %s failed to unbind", reporter.describe())

    # Inside.
    def _finish(self, outcome: Outcome) -> None:
        now = utcnow()
        record = self.record
        record.status = outcome.status
        record.finished = now
        record.latest = now
        record.message = (
            self._clean.text(outcome.message, "message", MESSAGE_LIMIT) or outcome.status.value
        )
        record.exit_code = outcome.exit_code
        record.exception_type = self._clean.text(
            outcome.exception_type, "exception_type", NAME_LIMIT
        )
        # Masked whole, then cut to its end: a secret across the cut is masked before it halves.
        trace = self._clean.text(outcome.traceback, "traceback")
        record.traceback = trace[-self.settings.traceback_limit :] if trace else trace
        self._take_progress()
        self._take_output()
        self._take_cost()
        self._submit()

    def _release(self) -> dict[str, Any] | None:
        """Return what ran (``monitorkit/release.py``), the release scrubbed as any text."""
        try:
            release = process_release()
            release["release"] = self._clean.text(release["release"], "release", NAME_LIMIT)
            return release
        except Exception:
            logger.exception("monitorkit: could not read the release")
            return None

    def _count_queries(self) -> None:
        """Count the queries of the run's thread from now on (``cost.py``)."""
        queries = RunQueries()
        try:
            queries.start()
        except Exception:
            logger.exception("monitorkit: could not count the run's queries")
            queries.stop()
            return
        self._queries = queries

    def _take_cost(self) -> None:
        """Record what the run cost as it ends (lock-free reads: a signal handler may ask)."""
        try:
            self.record.cost = self._clean.data(run_cost(self._queries), "cost")
        except Exception:
            logger.exception("monitorkit: could not measure what the run cost")

    def _take_progress(self) -> None:
        if self.progress_done is not None:
            self.record.progress = self._clean.progress(self.progress_done, self.progress_total)

    def _take_output(self) -> None:
        tail = self.output_tail
        if tail is not None:
            # Binary output holds NUL and lone surrogates as a matter of course: they are
            # replaced like undecodable bytes, without a log line. Scrubbed whole, then cut: a
            # secret at the cut is masked before it could be halved.
            text = self._clean.text(storable_text(tail.text()), "output") or ""
            self.record.output = text[-tail.limit :]

    def _write_blocked(self) -> bool:
        for reporter in self.reporters:
            try:
                if reporter.write_blocked():
                    return True
            except Exception:
                logger.exception("monitorkit: %s.write_blocked failed", reporter.describe())
        return False

    def _submit(self) -> None:
        # A full queue drops the event; the sender counts it and logs from its own thread.
        review = None
        if self.expectation is not None and self.record.status is Status.FINISHED:
            review = self._review
        self._sender.submit(
            self.record.snapshot(), self.reporters, self.settings.flush_timeout, review
        )

    def _review(self, record: RunRecord) -> None:
        """Store in ``record`` (the sender's copy) why it misses its expectation, if it does.

        On the sender's thread, before the outcome's write; a callable check waits at most
        ``expectations.check_bound``. Never raises: a check that fails counts as not checked.
        """
        expectation = self.expectation
        if expectation is None:
            return
        from ..expectations import check_bound

        bound = check_bound(self.settings.flush_timeout)
        usual = self._usual(record, bound) if expectation.outliers else None
        reason = expectation.unmet(record, bound, usual)
        record.unmet = self._clean.text(reason, "unmet", MESSAGE_LIMIT) if reason else None

    def _usual(self, record: RunRecord, bound: float) -> Usual | None:
        """Read what is usual for the command's finished runs, for ``outliers``: one read of
        its kept outcomes (``Reporter.command_outcomes``) from the first reporter that answers
        within ``bound`` seconds; ``None`` when none does (logged: the run is not judged so)."""
        from .. import retry
        from ..expectations import Usual
        from ..usual import outcome_durations

        for reporter in self.reporters:
            try:
                with retry.deadline(time.monotonic() + bound):
                    outcomes = reporter.command_outcomes(record.id)
            except Exception:
                logger.exception(
                    "monitorkit could not read the usual durations of %r from %s",
                    record.id,
                    reporter.describe(),
                )
                continue
            others = [o for o in outcomes if o.get("run_id") != record.run_id]
            return Usual(
                outcome_durations(others), self.settings.slow_factor, self.settings.fast_fraction
            )
        return None


#: The runs alive in this process: their locks are taken around a fork, and made anew in a child.
_live_runs: weakref.WeakSet[MonitoredRun] = weakref.WeakSet()


def _new_run_locks() -> None:
    for run in list(_live_runs):
        run._lock = threading.RLock()


forks.hold_locks(lambda: [run._lock for run in list(_live_runs)], _new_run_locks)
