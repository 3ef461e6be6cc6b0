"""Runs stored in a Firebase Realtime Database, where django-command-monitor users look for them.

The layout (``docs/firebase.md`` has the whole story)::

    <FIREBASE_MONITORING_KEY>/
        commands/<command id>/seq         the last run number handed out (atomic increment)
        commands/<command id>/log/<slot>  run number ``seq`` lives in slot ``(seq - 1) % retention``
        commands/<command id>/missed/<run id>
                                          the newest ``MISSED_KEPT`` (10) ``MISSED`` records,
                                          written by the watcher, outside the ring
        latest/<command id>               the run of that command written most recently
        outcomes/<command id>/<status>    how many runs ended with each outcome, ever (a counter)
        leases/<command id>/<run id>      the live runs of a command with a concurrency limit
                                          (``lease.py``)

A run's first outcome adds one to its counter (``{".sv": {"increment": 1}}``) in the PATCH that
stores it: a second finish of the run, or a spooled copy of a finish already stored, adds
nothing; a PATCH retried after its answer was lost may add one twice, the one approximation of
an increment without a transaction. Retention takes nothing from the counters.

A ``MISSED`` record never takes a slot of the ring, so missed starts never push real runs out;
it is stored with ``seq`` the number of the last real run before it (it sorts after that run),
and the watcher deletes the oldest beyond ten in the same PATCH that writes a new one.

``log`` only ever holds the integer keys ``0 .. retention - 1``, filled from 0, so a plain GET of
it is the JSON array of at most ``retention`` runs that users already read. Each write is
sized by one record, never by the history: a heartbeat and a finish are one multi-path PATCH;
a start claims its number (one atomic increment), then writes with one PATCH. A writer stores
and never judges: a previous run whose heartbeat stopped is left as it was stored, and readers
show it ``STALE`` (``monitorkit/health/judge.py``).

A run keeps its slot for the reporter's lifetime: every later write of the run, a second finish
after a kill signal included, goes to the same slot, so a run is never stored twice. A record
that comes back from the spool (``monitorkit/recording/spool.py``) finds its slot again from the
saved run number, or by its ``run_id`` in the log, and replaces what is stored only when it is
newer.

The reporter is built per run on the command's thread and must be cheap there: nothing is
resolved, imported or sent until the sender's thread calls ``write``, and bad settings
surface then as a :class:`ReporterError`.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...conf import MonitorSettings, monitor_settings
from ...record import (
    UNFINISHED,
    RunRecord,
    Status,
    parse_timestamp,
)
from ...retry import RetryPolicy
from ..base import MISSED_KEPT, Reporter, ReporterError, judge_window
from .tree import FirebaseTree

if TYPE_CHECKING:
    from ...concurrency import Admission
    from .health import FirebaseHealthStore
    from .http import RealtimeDatabaseClient

# The HTTP layer (and with it ``requests``, tens of milliseconds to import) is imported on the
# sender's thread when the first request is made, never on the command's thread.

logger = logging.getLogger("monitorkit")

#: Slots an instance remembers. A reporter lives for one run, but nothing stops a caller from
#: reusing one for many; the oldest are forgotten first, long after their runs ended.
MAX_REMEMBERED_SLOTS = 64


@dataclass(frozen=True)
class Slot:
    """Where one run lives: its number and its place in the ring."""

    seq: int
    index: int


class FirebaseReporter(Reporter):
    """Store runs in the Realtime Database named by ``FIREBASE_MONITORING``."""

    def __init__(
        self,
        settings: MonitorSettings = monitor_settings,
        *,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(settings)
        if retry_policy is not None:
            self.retry_policy = retry_policy
        self.tree = FirebaseTree(settings, self.retry_policy)
        # run_id -> slot, for the runs this instance stored: kept after a finish (see write)
        self._slots: collections.OrderedDict[str, Slot] = collections.OrderedDict()
        self._open: set[str] = set()  # runs written and not finished: keep the connection
        self._counted: dict[str, None] = {}  # runs whose outcome this instance counted, in order
        self._leased: set[str] = set()  # runs holding a lease (``lease.py``): beats keep it

    # The write side, on the sender's thread.
    def write(self, record: RunRecord) -> None:
        """Write the run's slot and summary with one PATCH; a run's first write claims its slot.

        A first write costs 2 to 3 requests (the number, the PATCH with the previous slot read
        beside it, and a PATCH marking that run killed if its heartbeat stopped). The slot is
        remembered after the finish: a run can be finished twice (a kill signal is recorded,
        then the ``KeyboardInterrupt`` or the user's handler ends the command), and the second
        finish must rewrite the run, not store it again under a new number.
        """
        if record.is_finished:
            try:
                self._write(record)
            finally:
                self._open.discard(record.run_id)
                self._close_if_idle()
        else:
            self._open.add(record.run_id)
            self._write(record)

    # The concurrency policy, on the command's thread, before ``handle``.
    def take_lease(self, record: RunRecord, limit: int) -> Admission:
        """Add the run to its command id's live runs (``lease.py``: one conditional PUT when
        none is alive, or when the limit is reached); its heartbeats keep it, its outcome
        releases it. The HTTP layer is imported here, on the command's thread: only a command
        that declares a limit pays for it."""
        from .lease import take_lease

        answer = take_lease(
            self.tree.client(),
            self.tree.root(),
            record,
            limit,
            self.settings.stale_after,
            self.settings.flush_timeout,
        )
        if answer.granted:
            self._leased.add(record.run_id)
        return answer

    # Store and forward, on the sender's thread.
    def run_state(self, run_id: str) -> dict[str, Any]:
        """Return ``{"seq": n}`` when this instance claimed run number ``n`` for the run.

        Takes no lock: the spool may ask from the command's thread, inside a signal handler.
        """
        slot = self._slots.get(run_id)
        return {"seq": slot.seq} if slot is not None else {}

    def deliver_spooled(self, record: RunRecord, state: dict[str, Any]) -> None:
        """Store a spooled record in its run's slot, unless what is stored there is newer.

        The slot comes from the saved run number, from this instance's memory, or from the
        log (one GET of at most ``retention`` runs): a record delivered twice (its process was
        killed before it could delete the spool file) finds the run it stored the first time.
        Only a run found nowhere claims a number. The slot and the summary are read before
        they are written, so a late heartbeat never undoes a finish, nor an earlier run the
        summary of a later one.
        """
        client = self.tree.client()
        root = self.tree.root()
        slot, stored = self._spooled_slot(client, root, record, state)
        self._remember(record.run_id, slot)
        data = stored_form(record, slot.seq)
        updates: dict[str, Any] = {}
        if not _keep_in_slot(stored, record, slot.seq):
            updates[f"commands/{record.id}/log/{slot.index}"] = data
            if not _ended(stored, record):
                updates.update(self._count(record))
        summary = client.get(root + ("latest", record.id)).value
        if not _keep_as_latest(summary, record):
            updates[f"latest/{record.id}"] = data
        if updates:
            client.patch(root, updates)
            self._counted_now(record)

    def store_missed(self, record: RunRecord) -> None:
        """Store a ``MISSED`` record in ``commands/<id>/missed``, outside the ring of runs.

        Three GETs (the kept misses, the run number, the summary) and one PATCH that writes the
        record, deletes the oldest misses beyond :data:`MISSED_KEPT` and updates the summary
        unless it holds something newer. A record already kept is not written again.
        """
        client = self.tree.client()
        root = self.tree.root()
        node = root + ("commands", record.id)
        kept = client.get(node + ("missed",)).value
        kept = kept if isinstance(kept, dict) else {}
        if record.run_id in kept:
            return
        seq = client.get(node + ("seq",)).value
        number = seq if isinstance(seq, int) and not isinstance(seq, bool) else 0
        data = stored_form(record, number)
        updates: dict[str, Any] = {f"commands/{record.id}/missed/{record.run_id}": data}
        updates.update(self._count(record))
        ordered = sorted(
            (key for key, item in kept.items() if isinstance(item, dict)),
            key=lambda key: str(kept[key].get("started") or ""),
        )
        for key in ordered[: max(0, len(ordered) + 1 - MISSED_KEPT)]:
            updates[f"commands/{record.id}/missed/{key}"] = None
        summary = client.get(root + ("latest", record.id)).value
        if not _keep_as_latest(summary, record):
            updates[f"latest/{record.id}"] = data
        client.patch(root, updates)

    # The read side, for monitor_status.
    def outcome_counts(self) -> dict[str, dict[str, int]]:
        """Return every command id's counts of runs by outcome: one GET of ``outcomes``."""
        value = self.tree.client().get(self.tree.root() + ("outcomes",)).value
        counts: dict[str, dict[str, int]] = {}
        for command_id, node in value.items() if isinstance(value, dict) else []:
            if isinstance(node, dict):
                counts[command_id] = {
                    outcome: int(count)
                    for outcome, count in node.items()
                    if isinstance(count, (int, float)) and not isinstance(count, bool)
                }
        return counts

    def latest_runs(self) -> list[RunRecord]:
        """Return the summary of every command (one GET), sorted by command id."""
        reply = self.tree.client().get(self.tree.root() + ("latest",))
        records = _records(reply.value)
        return sorted(records, key=lambda record: record.id)

    def command_history(self, command_id: str, limit: int | None = None) -> list[RunRecord]:
        """Return the kept runs and ``MISSED`` records of one command (one GET of its node),
        newest first by seq."""
        reply = self.tree.client().get(self.tree.root() + ("commands", command_id))
        records = sorted(_node_records(reply.value, command_id), key=_newest_first)
        return records[:limit] if limit else records

    def recent_runs(self, depth: int | None = None) -> dict[str, list[RunRecord]]:
        """Return the newest ``depth`` kept runs of every command id: one GET of ``commands``."""
        value = self.tree.client().get(self.tree.root() + ("commands",)).value
        runs: dict[str, list[RunRecord]] = {}
        for command_id, node in value.items() if isinstance(value, dict) else []:
            records = sorted(_node_records(node, command_id), key=_newest_first)
            if records:
                runs[command_id] = records[:depth] if depth else records
        return runs

    def judge_runs(self, depth: int) -> dict[str, list[RunRecord]]:
        """Return every command id's newest ``depth`` records for the judge.

        One GET of ``latest``, and one GET of ``commands/<id>`` for each id whose latest
        record did not finish well (a failure, a miss, or a run under way: its failures in a
        row are in its history); an id whose latest run ``FINISHED`` needs nothing older
        (``judge_window``). Requests grow with those ids only, never with the healthy ones or
        their history.
        """
        runs: dict[str, list[RunRecord]] = {}
        for latest in self.latest_runs():
            history = [latest]
            if depth > 1 and latest.status is not Status.FINISHED:
                history = self.command_history(latest.id, limit=depth) or history
            runs[latest.id] = judge_window(history, depth)
        return runs

    # The watcher's side.
    def health_store(self) -> FirebaseHealthStore:
        """Return the watcher's health and alerts, kept beside the runs (``firebase_health.py``)."""
        from .health import FirebaseHealthStore

        return FirebaseHealthStore(self.tree)

    # For log lines.
    def describe(self) -> str:
        from .http import resolve_location

        try:
            where = resolve_location(self.settings.firebase or {}).describe()
        except ReporterError:
            where = "database not configured"
        return f"FirebaseReporter({where}, key {self.settings.firebase_key!r})"

    def redact(self, text: str) -> str:
        """Remove AUTH_TOKEN, a token in DATABASE_URL, issued access tokens and auth params."""
        from ...redaction import redact
        from .http import resolve_location

        config = self.settings.firebase or {}
        secrets = [v for v in (config.get("AUTH_TOKEN"),) if isinstance(v, str)]
        if self.tree.current is not None:
            secrets += self.tree.current.secrets()
        else:
            try:
                url_token = resolve_location(config).url_token
            except ReporterError:
                url_token = None
            secrets += [url_token] if url_token else []
        return redact(text, secrets)

    # Inside.
    def _write(self, record: RunRecord) -> None:
        client = self.tree.client()
        root = self.tree.root()
        slot = self._slots.get(record.run_id)
        if slot is None:
            slot = self._claim(client, root, record.id)
            self._remember(record.run_id, slot)  # kept even if what follows fails
        data = stored_form(record, slot.seq)
        updates = {f"commands/{record.id}/log/{slot.index}": data, f"latest/{record.id}": data}
        if record.run_id in self._leased:  # the heartbeat keeps the lease, the outcome ends it
            from .lease import heartbeat_entry

            updates.update(heartbeat_entry(record))
        client.patch(root, {**updates, **self._count(record)})
        self._counted_now(record)
        if record.is_finished:
            self._leased.discard(record.run_id)

    def _count(self, record: RunRecord) -> dict[str, Any]:
        """Return the PATCH entry that counts the run's outcome, if this write stores its first."""
        if not record.is_finished or record.run_id in self._counted:
            return {}
        return {f"outcomes/{record.id}/{record.status.value}": {".sv": {"increment": 1}}}

    def _counted_now(self, record: RunRecord) -> None:
        """Note that the run's outcome was counted (after the PATCH that counted it succeeded)."""
        if record.is_finished:
            self._counted[record.run_id] = None
            while len(self._counted) > MAX_REMEMBERED_SLOTS:  # a reporter reused for many runs
                del self._counted[next(iter(self._counted))]

    def _claim(
        self, client: RealtimeDatabaseClient, root: tuple[str, ...], command_id: str
    ) -> Slot:
        """Take the next run number: one atomic increment, answered with the number stored.

        ``{".sv": {"increment": 1}}`` is what the Realtime Database and its emulator answer
        with the new value; two runs, on one host or two, never get the same number.
        """
        path = root + ("commands", command_id, "seq")
        answer = client.put(path, {".sv": {"increment": 1}}).value
        number = isinstance(answer, (int, float)) and not isinstance(answer, bool)
        if number and answer >= 1 and answer == int(answer):
            return self._slot(int(answer))
        raise ReporterError(
            f"Firebase answered the run-number increment of /{'/'.join(path)} with "
            f"{type(answer).__name__}, not the number stored; monitorkit needs a server that "
            'supports the "increment" server value (the Realtime Database, or its emulator).'
        )

    def _slot(self, seq: int) -> Slot:
        return Slot(seq, (seq - 1) % self.settings.retention)

    def _remember(self, run_id: str, slot: Slot) -> None:
        self._slots[run_id] = slot
        self._slots.move_to_end(run_id)
        while len(self._slots) > MAX_REMEMBERED_SLOTS:
            self._slots.popitem(last=False)

    def _close_if_idle(self) -> None:
        """Let the keep-alive connection go once no run is open (it reopens if needed)."""
        if not self._open:
            self.tree.close()

    def _spooled_slot(
        self,
        client: RealtimeDatabaseClient,
        root: tuple[str, ...],
        record: RunRecord,
        state: dict[str, Any],
    ) -> tuple[Slot, Any]:
        """Return the slot a spooled record belongs in, and what is stored there now."""
        known = self._slots.get(record.run_id)
        seq = state.get("seq") if known is None else known.seq
        if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1:
            slot = self._slot(seq)
            log = root + ("commands", record.id, "log", str(slot.index))
            return slot, client.get(log).value
        if record.run_id:
            log = client.get(root + ("commands", record.id, "log")).value
            items = enumerate(log) if isinstance(log, list) else _indexed(log)
            for index, stored in items:
                if isinstance(stored, dict) and stored.get("run_id") == record.run_id:
                    found = stored.get("seq")
                    if isinstance(found, int) and not isinstance(found, bool) and found >= 1:
                        return Slot(found, index), stored
        return self._claim(client, root, record.id), None


def stored_form(record: RunRecord, seq: int) -> dict[str, Any]:
    """Return the JSON a run is stored as: ``record.as_dict()`` plus ``seq``.

    Keys and numbers are already what Firebase takes: every value of a record went through the
    run's ``Cleaner`` (``monitorkit/cleaning.py``), the one pass for every store.
    """
    data = record.as_dict()
    data["seq"] = seq
    return data


def _indexed(log: Any) -> list[tuple[int, Any]]:
    """Return the ``(slot, run)`` pairs of a log read back as an object (sparse keys)."""
    if not isinstance(log, dict):
        return []
    return [(int(key), run) for key, run in log.items() if str(key).isdigit()]


def _keep_in_slot(stored: Any, record: RunRecord, seq: int) -> bool:
    """Return whether a run's slot holds something a spooled record must not replace.

    Another run with a later number (the ring came round: this run fell out of the
    retention window), or a newer state of the same run.
    """
    if not isinstance(stored, dict):
        return False
    if stored.get("run_id") != record.run_id:
        other = stored.get("seq")
        return isinstance(other, int) and not isinstance(other, bool) and other >= seq
    return _newer_or_same(stored, record)


def _ended(stored: Any, record: RunRecord) -> bool:
    """Return whether the slot holds this run with an outcome already (counted when stored)."""
    if not isinstance(stored, dict) or stored.get("run_id") != record.run_id:
        return False
    return stored.get("status") not in {status.value for status in UNFINISHED}


def _keep_as_latest(stored: Any, record: RunRecord) -> bool:
    """Return whether ``latest/<id>`` holds a run that started later or a newer state."""
    if not isinstance(stored, dict):
        return False
    if stored.get("run_id") != record.run_id:
        other = _timestamp(stored.get("started"))
        return other is not None and other >= record.started
    return _newer_or_same(stored, record)


def _newer_or_same(stored: dict[str, Any], record: RunRecord) -> bool:
    """Order two states of one run: a finished one is newer, then the later ``latest``."""
    stored_finished = str(stored.get("status")) not in {status.value for status in UNFINISHED}
    record_finished = record.status not in UNFINISHED
    if stored_finished != record_finished:
        return stored_finished
    stored_latest = _timestamp(stored.get("latest")) or _timestamp(stored.get("started"))
    record_latest = record.latest or record.started
    if stored_latest is None or record_latest is None:
        return stored_latest is not None
    return stored_latest >= record_latest


def _timestamp(value: Any) -> dt.datetime | None:
    """Return a stored timestamp as a datetime, or ``None`` when it is absent or not one."""
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _records(value: Any, command_id: str | None = None) -> list[RunRecord]:
    """Return the records of a node read back (an array or an object), skipping what is not."""
    if isinstance(value, list):
        items = [(None, item) for item in value]
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        return []
    records = []
    for key, item in items:
        if isinstance(item, dict):
            record = _record(item, command_id or key)
            if record is not None:
                records.append(record)
    return records


def _node_records(node: Any, command_id: str) -> list[RunRecord]:
    """Return the runs of a ``commands/<id>`` node: its ring's and its ``MISSED`` records."""
    if not isinstance(node, dict):
        return []
    return _records(node.get("log"), command_id) + _records(node.get("missed"), command_id)


def _record(data: dict[str, Any], command_id: str | None) -> RunRecord | None:
    """Build a record, tolerating django-command-monitor's entries (no run_id, host or pid)."""
    values = dict(data)
    for name, default in (
        ("id", command_id or ""),
        ("name", ""),
        ("params", ""),
        ("run_id", ""),
        ("host", ""),
    ):
        if values.get(name) is None:
            values[name] = default
    if not isinstance(values.get("pid"), int) or values.get("status") == Status.MISSED.value:
        values["pid"] = None  # a MISSED record has no process of its own
    try:
        return RunRecord.from_dict(values)
    except (TypeError, ValueError, KeyError) as err:
        logger.debug("monitorkit: skipped a stored run that is not a record: %s", err)
        return None


def _newest_first(record: RunRecord) -> tuple[int, float]:
    seq = record.seq if isinstance(record.seq, int) else -1
    started = record.started.timestamp() if record.started else 0.0
    return (-seq, -started)
