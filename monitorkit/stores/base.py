"""The reporter seam: what every backend that stores runs must do.

The sender calls :meth:`Reporter.write`, one record at a time, on its own thread;
``bind``/``unbind`` are the only calls made on the command's thread, and must be cheap. A
reporter for the status page and ``monitor_status`` also reads (``latest_runs``,
``command_history``); one that only writes (a log shipper, say) needs ``write`` alone. A
reporter retries its own writes (it knows which errors are
worth it, see ``monitorkit/retry.py``) and raises :class:`ReporterError` with a message fit
for a log line: no credential in it, ever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..conf import DATABASE_STORE, FIREBASE_STORE, MonitorSettings, monitor_settings
from ..record import RunRecord, Status, outcome_of
from ..retry import RetryPolicy

#: ``MISSED`` records kept per command id, outside ``MONITORKIT_RETENTION`` (which counts real
#: runs only): the newest ones, each standing for one gap of missed starts. A missed start
#: never pushes a real run out of any store.
MISSED_KEPT = 10

if TYPE_CHECKING:
    from ..concurrency import Admission
    from .health_store import HealthStore


class ReporterError(Exception):
    """A backend refused or failed a write or a read; the message is safe to log."""


class Reporter:
    """Base class of reporters: ``write`` stores, ``latest_runs`` and ``command_history`` read."""

    def __init__(self, settings: MonitorSettings = monitor_settings) -> None:
        self.settings = settings
        self.retry_policy = RetryPolicy()

    # Called on the command's thread, around the run.
    def bind(self) -> None:
        """Prepare for a run that starts now (on the command's thread; keep it cheap)."""

    def unbind(self) -> None:
        """Let go of whatever ``bind`` took (on the command's thread, after the last flush)."""

    def write_blocked(self) -> bool:
        """Return whether the *calling* thread itself keeps this reporter from writing now.

        Called from a signal handler on the command's thread: when the interrupted code holds
        what the sender needs (a lock, an open transaction), waiting for the sender cannot
        succeed, so the record goes straight to the spool instead of costing the flush bound.
        """
        return False

    def interrupt_command(self) -> None:
        """Stop what the command's thread is running in this backend (a query), if anything.

        Called from another thread when a signal that ends the process at once arrives while
        the command may be inside C code that does not return to Python for a long time: the
        signal must act as it would without monitoring. Must be safe from any thread.
        """

    # Called on the sender's thread.
    def write(self, record: RunRecord) -> None:
        """Store the whole record of a run: on its start, each heartbeat and its outcome.

        Any write may be the first a reporter hears of a run (the sender skips a start that a
        later write of the same run makes redundant, and a start may have failed): a run not
        stored yet is stored, one already stored is replaced. ``record.is_finished`` says the
        run is over, for a reporter that lets go of what it kept for the run then.
        """
        raise NotImplementedError(f"{type(self).__name__} must define write(record).")

    def store_missed(self, record: RunRecord) -> None:
        """Store the watcher's ``MISSED`` record of a start that did not come.

        Two watchers may hand over the same record (same ``run_id``): it is stored once. A
        store keeps such records outside ``MONITORKIT_RETENTION`` (the newest
        :data:`MISSED_KEPT`), so missed starts never push real runs out. By default it is a
        plain write, which suits a store that replaces a run stored under the same ``run_id``.
        """
        self.write(record)

    # Store and forward (``monitorkit/recording/spool.py``), on the sender's thread.
    def run_state(self, run_id: str) -> dict[str, Any]:
        """Return what this reporter knows of a run that a later delivery needs (JSON data).

        Saved beside a record that goes to the spool, and handed to :meth:`deliver_spooled`
        when it is delivered, maybe by another process: the Firebase run number, so a run
        that was partly stored is completed in place, never stored twice.
        """
        return {}

    def deliver_spooled(self, record: RunRecord, state: dict[str, Any]) -> None:
        """Store a record taken from the spool; the newest state of a run wins.

        It may arrive after a newer state of the same run was stored (the backend came back
        while the run went on): a reporter must then keep what it has. By default it is a
        plain write, which suits a store that keeps only what it is last sent.
        """
        self.write(record)

    # The concurrency policy (``monitorkit/concurrency.py``), on the command's thread.
    def take_lease(self, record: RunRecord, limit: int) -> Admission | None:
        """Store ``record`` (a run about to start) only while fewer than ``limit`` runs of its
        command id are alive; else refuse it, naming them. ``None``: this store keeps no leases.

        Called once, before ``handle``, on the command's thread: one round trip, race-free
        between processes. A run is alive until it ends or the judge calls it stale
        (``staleness.is_stale``), so a holder killed without a trace lets go by itself.
        Raising (the store is down) lets the command run: the caller logs it.
        """
        return None

    # The watcher's side (``monitorkit/health/watch.py``).
    def health_store(self) -> HealthStore | None:
        """Return where the watcher keeps health and alerts in this backend (``None``: nowhere)."""
        return None

    # The read side, for monitor_status.
    def latest_runs(self) -> list[RunRecord]:
        """Return the newest run of every command id."""
        raise NotImplementedError(f"{type(self).__name__} must define latest_runs().")

    def command_history(self, command_id: str, limit: int | None = None) -> list[RunRecord]:
        """Return the stored runs of one command id, newest first."""
        raise NotImplementedError(f"{type(self).__name__} must define command_history().")

    def run(self, command_id: str, run_id: str) -> RunRecord | None:
        """Return one kept run of a command id, whole (``None``: not kept), for its own page.

        This default searches ``command_history`` (one read of the id's history, as Firebase
        does anyway); a store that can find a run by its id alone does (one query).
        """
        return next((r for r in self.command_history(command_id) if r.run_id == run_id), None)

    def command_page(self, command_id: str, offset: int, limit: int) -> list[RunRecord]:
        """Return ``limit`` kept runs of a command id, whole, newest first, after ``offset``.

        One page of the command page's history: a store that can read only those rows does
        (``LIMIT``/``OFFSET``), so a page costs the same at 25 kept runs as at 10,000.
        """
        return self.command_history(command_id, offset + limit)[offset:]

    def command_outcomes(self, command_id: str) -> list[dict[str, Any]]:
        """Return the outcomes (``record.outcome``) of every kept run of a command id, newest
        first.

        What the command page counts and charts, and its p50 and p95 come from: run id,
        number, status, start, duration and the run's ``cost`` (when it has one), never the
        output or traceback. A store may read only those columns.
        """
        return [outcome_of(run, with_cost=True) for run in self.command_history(command_id)]

    def recent_runs(self, depth: int | None = None) -> dict[str, list[RunRecord]]:
        """Return the newest ``depth`` runs (``None``: all kept) of every command id, newest first.

        For the status page's strip of outcomes and the metrics. This default asks for each
        command id's history in turn; a store that can answer at once does (one query).
        """
        return {run.id: self.command_history(run.id, depth) for run in self.latest_runs()}

    def judge_runs(self, depth: int) -> dict[str, list[RunRecord]]:
        """Return what the judge reads of every command id: :func:`judge_window` of its runs.

        Newest first, as ``recent_runs``; every reader that judges health (the watcher, the
        page, its JSON, the metrics, ``monitor_status``) reads through here
        (``overview.judge_inputs``), so all judge from the same records. A store may answer
        lighter: the newest record and the newest real (not ``MISSED``) run whole, the older
        ones with only what the judge reads of them (status, start, latest heartbeat, run id,
        seq), as ``DatabaseReporter`` does.
        """
        return {
            command_id: judge_window(runs, depth)
            for command_id, runs in self.recent_runs(depth).items()
        }

    def recent_outcomes(self, depth: int) -> dict[str, list[dict[str, Any]]]:
        """Return the outcomes (``record.outcome``) of every command id's newest ``depth`` runs.

        For the status page's strip, read on every poll: a store may read only what the strip
        shows (run id, number, status, start, duration) to answer faster.
        """
        return {
            command_id: [outcome_of(run) for run in runs]
            for command_id, runs in self.recent_runs(depth).items()
        }

    def outcome_counts(self) -> dict[str, dict[str, int]] | None:
        """Return how many runs of each command id ended with each outcome, ever.

        ``{command_id: {"FINISHED": n, "FAILED": n, "SYSTEM_KILL": n, "MISSED": n}}`` with the
        outcomes counted so far: counted by the writer as each run's first outcome is stored,
        never lowered by retention (the metric ``monitorkit_runs_ended_total``, a counter).
        ``None``: this store keeps no such count, and the metric is left out (a count of the
        kept runs would go down as old runs leave, and ``rate()`` over it would lie).
        """
        return None

    # For log lines.
    def describe(self) -> str:
        """Name this reporter and its backend in a log line (no credentials)."""
        return type(self).__name__

    def redact(self, text: str) -> str:
        """Return ``text`` with anything secret this reporter knows of removed."""
        return text


def judge_window(history: list[RunRecord], depth: int) -> list[RunRecord]:
    """Return the records of a command id's history (newest first) that the judge reads.

    Its newest ``depth`` records, or the newest alone when it ``FINISHED``: no failure counts
    across a success, so nothing older changes the judgement (and a healthy id costs one row).
    """
    if history and history[0].status is Status.FINISHED:
        return history[:1]
    return history[:depth]


def reporter_path(reporter: Reporter) -> str:
    """Return the dotted path of a reporter's class, how the spool names a backend."""
    cls = type(reporter)
    return f"{cls.__module__}.{cls.__qualname__}"


#: The paths of the built-in stores' classes before they moved to ``monitorkit.stores``: what
#: a spool file written by an older version names (see :func:`current_path`).
FORMER_PATHS = {
    "monitorkit.reporters.database.DatabaseReporter": DATABASE_STORE,
    "monitorkit.reporters.firebase.FirebaseReporter": FIREBASE_STORE,
}


def current_path(path: str) -> str:
    """Return the class path a spool file's ``path`` stands for now (moved stores renamed)."""
    return FORMER_PATHS.get(path, path)
