"""One monitored run: its record, where it goes, and the steps that change it.

The mixins decide *what* a run is (its id, its outcome, its metadata); this module is where the
record is changed and handed to the sender. Every change happens under one re-entrant lock, so
the heartbeat thread and a signal handler on the command's thread never interleave halfway.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .conf import MonitorSettings
from .naming import sanitize_key, scrub
from .record import RunRecord, Status, utcnow
from .reporters.base import Reporter
from .sender import get_sender

logger = logging.getLogger("monitorkit")

current_run: contextvars.ContextVar[MonitoredRun | None] = contextvars.ContextVar(
    "monitorkit_current_run", default=None
)


@dataclass(frozen=True)
class Identity:
    """Who a run belongs to: the command id, its name and params, and what must stay secret."""

    id: str
    name: str
    params: str
    secrets: Sequence[str] = field(default_factory=tuple)


def json_safe(value: Any, secrets: Sequence[str]) -> Any:
    """Return ``value`` as plain JSON data with valid keys and no secret in its strings."""

    def clean(item: Any) -> Any:
        if isinstance(item, dict):
            return {sanitize_key(str(k), "key"): clean(v) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v) for v in item]
        if isinstance(item, str):
            return scrub(item, secrets)
        return item

    return clean(json.loads(json.dumps(value, default=str)))


class MonitoredRun:
    """The live state of one run and the only place its record changes."""

    def __init__(
        self, identity: Identity, reporters: Sequence[Reporter], settings: MonitorSettings
    ) -> None:
        now = utcnow()
        self.identity = identity
        self.reporters = tuple(reporters)
        self.settings = settings
        self.record = RunRecord(
            id=identity.id,
            name=identity.name,
            params=identity.params,
            run_id=uuid.uuid4().hex,
            host=socket.gethostname(),
            pid=os.getpid(),
            started=now,
            latest=now,
        )
        self.killed_by: str | None = None
        # Progress is written by the command with plain attribute stores (no lock, no I/O)
        # and read by the heartbeat.
        self.progress_done: int | float | None = None
        self.progress_total: int | float | None = None
        self._lock = threading.RLock()
        self._sender = get_sender(settings.queue_size)
        self._token: contextvars.Token[MonitoredRun | None] | None = None

    # Steps, in the order a run goes through them.
    def start(self, metadata: dict[str, Any] | None) -> None:
        """Record the start and make this the current run of this context."""
        with self._lock:
            self.record.metadata = json_safe(metadata or {}, self.identity.secrets)
            for reporter in self.reporters:
                reporter.bind()
            self._submit("start_run")
        self._token = current_run.set(self)

    def beat(self) -> None:
        """Record a heartbeat: the time, ``RUNNING`` and the progress so far."""
        with self._lock:
            if self.record.is_finished:
                return
            self.record.latest = utcnow()
            self.record.status = Status.RUNNING
            self.record.message = "Command running"
            self._take_progress()
            self._submit("heartbeat")

    def killed(self, signal_name: str, exit_code: int) -> None:
        """Record that a signal is ending the process, and wait (bounded) for it to go out."""
        with self._lock:
            self.killed_by = signal_name
            self._finish(Status.SYSTEM_KILL, f"Killed by {signal_name}", exit_code=exit_code)
        self.flush(from_signal=True)

    def finish(
        self,
        status: Status,
        message: str,
        *,
        exit_code: int | None,
        exception_type: str | None = None,
        traceback: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Record the outcome; a run a signal already ended keeps ``SYSTEM_KILL``."""
        with self._lock:
            if metadata is not None:
                self.record.metadata = json_safe(metadata, self.identity.secrets)
            if self.killed_by is not None:
                status, message = Status.SYSTEM_KILL, f"Killed by {self.killed_by}"
                exit_code = self.record.exit_code if exit_code is None else exit_code
            self._finish(status, message, exit_code, exception_type, traceback)
        if self._token is not None:
            current_run.reset(self._token)
            self._token = None

    def flush(self, from_signal: bool = False) -> bool:
        """Wait, at most the flush bound, for this run's records to be delivered."""
        timeout = self.settings.flush_timeout
        delivered = self._sender.flush(timeout, from_signal=from_signal)
        if not delivered:
            logger.warning(
                "monitorkit gave up waiting after %.1f s (MONITORKIT_FLUSH_TIMEOUT) with %d "
                "record(s) of command %r not yet delivered to %s; the command was not held longer",
                timeout,
                self._sender.pending,
                self.record.id,
                ", ".join(r.describe() for r in self.reporters),
            )
        return delivered

    def release(self) -> None:
        """Let the reporters drop what they held for this run (on the command's thread)."""
        for reporter in self.reporters:
            try:
                reporter.unbind()
            except Exception:
                logger.exception("monitorkit: %s failed to unbind", reporter.describe())

    # Inside.
    def _finish(
        self,
        status: Status,
        message: str,
        exit_code: int | None,
        exception_type: str | None = None,
        traceback: str | None = None,
    ) -> None:
        now = utcnow()
        secrets = self.identity.secrets
        record = self.record
        record.status = status
        record.finished = now
        record.latest = now
        record.message = scrub(message, secrets) or status.value
        record.exit_code = exit_code
        record.exception_type = exception_type
        record.traceback = scrub(traceback, secrets)
        self._take_progress()
        self._submit("finish_run")

    def _take_progress(self) -> None:
        if self.progress_done is not None:
            self.record.progress = {"done": self.progress_done, "total": self.progress_total}

    def _submit(self, kind: str) -> None:
        # A full queue drops the event; the sender counts it and logs from its own thread.
        self._sender.submit(kind, self.record.snapshot(), self.reporters)
