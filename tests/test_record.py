"""The record's fields and timestamp format (``monitorkit/record.py``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from typing import Any

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from monitorkit import MonitoredCommand
from monitorkit.record import Outcome, RunRecord, Status, format_timestamp, parse_timestamp
from monitorkit.stores.database.runs import DatabaseReporter
from tests.shapes import NEW_FIELDS, SEED_FIELDS, TIMESTAMP


def test_timestamp_format_is_utc_with_microseconds():
    moment = dt.datetime(2024, 5, 1, 14, 0, 0, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_timestamp(moment) == "2024-05-01T12:00:00.000007Z"
    assert parse_timestamp("2024-05-01T12:00:00.000007Z") == moment


class Tick(MonitoredCommand):
    monitor_command_name = "tick"

    def handle(self, *args: Any, **options: Any) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_a_stored_run_has_every_field_in_its_format():
    with freeze_time("2024-05-01 12:00:00.123456"):
        call_command(Tick())
    (record,) = DatabaseReporter().command_history("tick")
    data = record.as_dict()
    assert set(data) >= SEED_FIELDS | NEW_FIELDS
    assert data["started"] == data["latest"] == data["finished"] == "2024-05-01T12:00:00.123456Z"
    assert all(TIMESTAMP.match(data[k]) for k in ("started", "latest", "finished"))
    assert data["status"] == "FINISHED"
    assert data["duration"] == 0.0
    assert data["exit_code"] == 0
    assert data["seq"] == 1
    assert len(data["run_id"]) == 32
    assert isinstance(data["pid"], int) and data["host"]


def test_unfinished_record_has_null_finished_and_round_trips():
    record = RunRecord(
        id="x",
        name="x",
        params="",
        run_id="r",
        host="h",
        pid=1,
        started=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    )
    data = record.as_dict()
    assert data["finished"] is None
    assert data["status"] == "STARTED"
    assert RunRecord.from_dict(data) == record
    assert RunRecord.from_dict(data).status is Status.STARTED


def test_identity_and_outcome_are_plain_values_beside_the_record():
    """Users' hooks import Identity; where they found it first (monitorkit.run) still works."""
    import dataclasses

    import monitorkit
    from monitorkit import record

    with pytest.warns(DeprecationWarning, match="monitorkit.run is now monitorkit.recording.run"):
        from monitorkit import run
    assert run.Identity is record.Identity is monitorkit.Identity
    assert monitorkit.Outcome is record.Outcome
    outcome = record.Outcome(record.Status.FAILED, "boom", exit_code=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.message = "changed"  # type: ignore[misc]
    assert dataclasses.replace(outcome, message="changed").exit_code == 1


def test_identity_compares_by_value_and_never_shows_its_secrets():
    """Identity is a plain class (issue 16: no dataclass compiled at import), still a value."""
    from monitorkit.record import Identity

    first = Identity("job", "job", "--token ********", secrets=("s3cr3t-value",))
    same = Identity("job", "job", "--token ********", secrets=["s3cr3t-value"])
    assert first == same and hash(first) == hash(same)
    assert first != Identity("job", "job", "", secrets=("s3cr3t-value",))
    assert Identity("a", "a", "").secrets == ()
    assert "s3cr3t-value" not in repr(first)
    assert "job" in repr(first)


@pytest.mark.parametrize("cls", [RunRecord, Outcome])
def test_the_written_out_methods_behave_as_dataclass_would_generate_them(cls: type) -> None:
    """``Outcome`` and ``RunRecord`` write their methods out (``@dataclass`` compiles its
    generated ones at import); a generated twin from the same fields agrees with them."""
    frozen = cls is Outcome
    spec = [
        (f.name, f.type, dataclasses.field(default=f.default, default_factory=f.default_factory))
        for f in dataclasses.fields(cls)
    ]
    twin = dataclasses.make_dataclass(cls.__name__, spec, frozen=frozen)
    assert [f.name for f in dataclasses.fields(twin)] == [f.name for f in dataclasses.fields(cls)]
    assert list(inspect.signature(cls).parameters) == list(inspect.signature(twin).parameters)
    for name, parameter in inspect.signature(twin).parameters.items():
        ours = inspect.signature(cls).parameters[name]
        if parameter.default is not inspect.Parameter.empty:
            assert ours.default in (parameter.default, None), name  # None: a fresh dict
    if cls is RunRecord:
        args = (
            "cmd",
            "cmd",
            "",
            "run-1",
            "host",
            7,
            dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        )
        changes = {"status": Status.FAILED, "exit_code": 3, "metadata": {"rows": 2}}
    else:
        args = (Status.FAILED, "boom", 1)
        changes = {"traceback": "Traceback ...", "exception_type": "ValueError"}
    ours, theirs = cls(*args), twin(*args)
    assert repr(ours) == repr(theirs)
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    assert ours == cls(*args)
    changed = dataclasses.replace(ours, **changes)
    assert repr(changed) == repr(dataclasses.replace(theirs, **changes))
    assert changed != ours and changed == dataclasses.replace(ours, **changes)
    assert ours.__eq__(theirs) is NotImplemented  # another class: not equal, as generated
    if frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            ours.message = "changed"  # type: ignore[misc]
        assert hash(ours) == hash(cls(*args)) and hash(ours) == hash(theirs)
    else:
        assert cls.__hash__ is None  # mutable, compared by value: unhashable, as generated
        first, second = cls(*args), cls(*args)
        assert first.metadata is not second.metadata  # each gets its own dict
