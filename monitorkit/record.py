"""What a run is: who it belongs to, the record every reporter receives, how it ended.

:class:`Identity` is what the naming hooks return (users' own hooks build one), and
:class:`Outcome` what the outcome hook returns; both are plain frozen values. A
:class:`RunRecord` is built on the command's side (``monitorkit/recording/run.py``) and handed to
the sender as a copy, so a reporter never sees a record change under it. ``as_dict`` gives the JSON
form that users read: the field names of django-command-monitor, then monitorkit's own fields.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import FrozenInstanceError, dataclass, field, fields
from typing import Any

from .status import UNFINISHED as UNFINISHED
from .status import Status as Status

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


def format_timestamp(value: dt.datetime | None) -> str | None:
    """Format a datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (naive means UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    # isoformat is several times faster than strftime, and the status page formats thousands.
    return value.isoformat(timespec="microseconds") + "Z"


def parse_timestamp(value: str | None) -> dt.datetime | None:
    """Parse a stored timestamp (``TIMESTAMP_FORMAT``, exactly) back into an aware UTC datetime.

    By ``fromisoformat`` (C) on the checked shape, not ``strptime``: ``strptime`` imports
    ``_strptime`` on first use, and an import that runs ``exec`` of a string on monitorkit's
    thread while the command's main thread exits with an uncaught ``KeyboardInterrupt`` clears
    CPython's (before 3.14) note of it, so the process exited 1 instead of by SIGINT
    (python/cpython#128130): the sender parses spooled records at exactly that moment.
    """
    if not value:
        return None
    if len(value) != 27 or value[10] != "T" or value[19] != "." or value[26] != "Z":
        raise ValueError(f"time data {value!r} does not match format {TIMESTAMP_FORMAT!r}")
    return dt.datetime.fromisoformat(value[:26]).replace(tzinfo=dt.timezone.utc)


class Identity:
    """Who a run belongs to: the command id, its name and params, and what must stay secret.

    A plain slotted class rather than a frozen dataclass: every monitored command imports this
    module, and a frozen dataclass compiles its generated methods at import (about 0.5 ms on
    Python 3.11, issue 16). It compares and hashes by value, as the dataclass did.
    """

    __slots__ = ("id", "name", "params", "secrets")

    def __init__(self, id: str, name: str, params: str, secrets: Sequence[str] = ()) -> None:
        self.id = id
        self.name = name
        self.params = params
        self.secrets = secrets

    def _key(self) -> tuple[str, str, str, tuple[str, ...]]:
        return (self.id, self.name, self.params, tuple(self.secrets))

    def __repr__(self) -> str:
        return (
            f"Identity(id={self.id!r}, name={self.name!r}, params={self.params!r}, "
            f"secrets=<{len(self.secrets)} value(s)>)"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Identity):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


# Outcome and RunRecord are dataclasses (``fields``, ``replace``, ``asdict`` work on them, and
# the docs say so) whose methods are written out here rather than generated: ``@dataclass``
# compiles the source of the methods it generates when the module is imported, about 7 million
# instructions (2 ms) of every monitored command's start on Python 3.11 (issue 16). A test
# checks that they behave as the generated ones would (``tests/test_record.py``).


@dataclass(init=False, repr=False, eq=False)
class Outcome:
    """How a run ended, as ``monitor_outcome`` judges it: what ``MonitoredRun.finish`` records.

    A hook that changes one field returns ``dataclasses.replace(outcome, message=...)``. It is
    frozen: assigning to a field raises ``dataclasses.FrozenInstanceError``; it hashes by value.
    """

    status: Status
    message: str
    exit_code: int | None
    exception_type: str | None = None
    traceback: str | None = None

    def __init__(
        self,
        status: Status,
        message: str,
        exit_code: int | None,
        exception_type: str | None = None,
        traceback: str | None = None,
    ) -> None:
        put = object.__setattr__
        put(self, "status", status)
        put(self, "message", message)
        put(self, "exit_code", exit_code)
        put(self, "exception_type", exception_type)
        put(self, "traceback", traceback)

    def _values(self) -> tuple[Any, ...]:
        return (self.status, self.message, self.exit_code, self.exception_type, self.traceback)

    def __repr__(self) -> str:
        return (
            f"Outcome(status={self.status!r}, message={self.message!r}, "
            f"exit_code={self.exit_code!r}, exception_type={self.exception_type!r}, "
            f"traceback={self.traceback!r})"
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


@dataclass(init=False, repr=False, eq=False)
class RunRecord:
    """One run of one command, as stored.

    ``id`` is the command id (the same for every run of the command with the same params);
    ``run_id`` tells runs apart. ``seq`` is given by the store when the run starts. ``output``
    is the end of what the run printed (``monitorkit/recording/output.py``), ``None`` when none is
    kept.
    """

    id: str
    name: str
    params: str
    run_id: str
    host: str
    pid: int | None
    """The run's process id; ``None`` for a ``MISSED`` record (no process of its own)."""
    started: dt.datetime
    status: Status = Status.STARTED
    latest: dt.datetime | None = None
    finished: dt.datetime | None = None
    message: str = "Command started"
    exception_type: str | None = None
    traceback: str | None = None
    exit_code: int | None = None
    progress: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None
    output: str | None = None
    unmet: str | None = None
    """Why a ``FINISHED`` run missed its command's expectations (``monitorkit/expectations.py``):
    ``"ran 0.1 s, expected at least 30 s"``; ``None`` when it met them or none was declared."""
    release: dict[str, Any] | None = None
    """What ran: ``{"release", "python", "django"}`` (``monitorkit/release.py``)."""
    cost: dict[str, Any] | None = None
    """What the run cost, known once it ended (``monitorkit/measures.py`` names its keys)."""

    def __init__(
        self,
        id: str,
        name: str,
        params: str,
        run_id: str,
        host: str,
        pid: int | None,
        started: dt.datetime,
        status: Status = Status.STARTED,
        latest: dt.datetime | None = None,
        finished: dt.datetime | None = None,
        message: str = "Command started",
        exception_type: str | None = None,
        traceback: str | None = None,
        exit_code: int | None = None,
        progress: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        seq: int | None = None,
        output: str | None = None,
        unmet: str | None = None,
        release: dict[str, Any] | None = None,
        cost: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.name = name
        self.params = params
        self.run_id = run_id
        self.host = host
        self.pid = pid
        self.started = started
        self.status = status
        self.latest = latest
        self.finished = finished
        self.message = message
        self.exception_type = exception_type
        self.traceback = traceback
        self.exit_code = exit_code
        self.progress = progress
        self.metadata = {} if metadata is None else metadata
        self.seq = seq
        self.output = output
        self.unmet = unmet
        self.release = release
        self.cost = cost

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _RECORD_FIELDS)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _RECORD_FIELDS)
        return f"RunRecord({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, or to the latest heartbeat while unfinished.

        ``None`` for a ``MISSED`` record: it stands for a start that never came.
        """
        if self.status is Status.MISSED:
            return None
        end = self.finished or self.latest
        return None if end is None else round((end - self.started).total_seconds(), 6)

    @property
    def is_finished(self) -> bool:
        """Whether the run has an outcome (any status but STARTED and RUNNING)."""
        return self.status not in UNFINISHED

    def snapshot(self) -> RunRecord:
        """Return a deep copy, safe to hand to another thread."""
        return copy.deepcopy(self)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form: timestamps as strings, the status as its value."""
        data: dict[str, Any] = {}
        for name in _RECORD_FIELDS:  # not fields(self): the overview turns 500 records a poll
            value = getattr(self, name)
            if isinstance(value, dt.datetime):
                value = format_timestamp(value)
            elif isinstance(value, Status):
                value = value.value
            data[name] = value
        data["duration"] = self.duration
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Build a record from its JSON form (what a store gives back)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("started", "latest", "finished"):
            if isinstance(values.get(name), str):
                values[name] = parse_timestamp(values[name])
        values["status"] = Status(values.get("status", Status.STARTED))
        values.setdefault("metadata", {})
        values["metadata"] = values["metadata"] or {}
        return cls(**values)


#: RunRecord's fields in order (its repr, equality and JSON form read them).
_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RunRecord))
#: ``Status.MISSED``'s value, read once: an enum member's ``value`` is a descriptor call, and
#: ``outcome`` runs ten thousand times a poll of the overview.
_MISSED = Status.MISSED.value


def outcome(
    run_id: str,
    seq: int | None,
    status: str,
    started: str | None,
    duration: Any,
    cost: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return one outcome of a command's recent runs as the status page shows it (JSON data).

    ``cost``: the run's, for the command page's percentiles of it (``command_outcomes``); the
    key is there only when the run has one.
    """
    found = {
        "run_id": run_id,
        "seq": seq,
        "status": status,
        "started": started,
        "duration": None if status == _MISSED else duration,
    }
    if cost is not None:
        found["cost"] = cost
    return found


def outcome_of(run: RunRecord, with_cost: bool = False) -> dict[str, Any]:
    """Return the outcome of a whole record (see :func:`outcome`), its cost too if asked."""
    return outcome(
        run.run_id,
        run.seq,
        run.status.value,
        format_timestamp(run.started),
        run.duration,
        run.cost if with_cost else None,
    )
