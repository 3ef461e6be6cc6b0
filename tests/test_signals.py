"""Signals for runs and health transitions (``monitorkit/signals.py``, ``transitions.py``)."""

from __future__ import annotations

import datetime as dt
import enum
import logging

import pytest

from monitorkit import signals
from monitorkit.record import RunRecord, Status
from monitorkit.transitions import Transition
from tests.notifiers.values import AT, failed_record, failing_transition


class Receiver:
    """Remember every call: the sender and the keyword arguments."""

    def __init__(self):
        self.calls = []

    def __call__(self, sender, **kwargs):
        self.calls.append((sender, kwargs))
        return "seen"


@pytest.fixture
def connect():
    connected = []

    def connect(signal, receiver):
        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
        return receiver

    yield connect
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.mark.parametrize(
    "status, signal",
    [
        (Status.STARTED, signals.run_started),
        (Status.FINISHED, signals.run_finished),
        (Status.FAILED, signals.run_failed),
        (Status.SYSTEM_KILL, signals.run_killed),
    ],
)
def test_each_run_status_sends_its_signal_with_the_record(connect, status, signal):
    receivers = {s: connect(s, Receiver()) for s in signals.RUN_SIGNALS.values()}
    record = failed_record(status=status)
    responses = signals.send_run_event(record)
    assert [r for _, r in responses] == ["seen"]
    for other, receiver in receivers.items():
        assert len(receiver.calls) == (1 if other is signal else 0)
    ((sender, kwargs),) = receivers[signal].calls
    assert sender is RunRecord
    assert set(kwargs) == {"signal", "record", "command_id"}
    assert kwargs["command_id"] == "import_data__limit_5"
    assert kwargs["record"] == record and kwargs["record"] is not record  # a copy


def test_a_heartbeat_sends_nothing(connect):
    receivers = [connect(s, Receiver()) for s in signals.RUN_SIGNALS.values()]
    assert signals.send_run_event(failed_record(status=Status.RUNNING)) == []
    assert all(not r.calls for r in receivers)


def test_a_receiver_cannot_change_the_record(connect):
    def meddle(sender, record, **kwargs):
        record.message = "changed"

    connect(signals.run_failed, meddle)
    record = failed_record()
    signals.send_run_event(record)
    assert record.message.startswith("could not reach")


def test_a_raising_receiver_is_logged_and_the_others_still_run(connect, caplog):
    def broken(sender, **kwargs):
        raise ValueError("receiver broke")

    connect(signals.run_failed, broken)
    after = connect(signals.run_failed, Receiver())
    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        responses = signals.send_run_event(failed_record())  # does not raise
    assert isinstance(responses[0][1], ValueError) and responses[1][1] == "seen"
    assert len(after.calls) == 1
    (line,) = [r for r in caplog.records if r.name == "monitorkit"]
    assert "raised for import_data__limit_5 (ignored): ValueError: receiver broke" in (
        line.getMessage()
    )
    assert "test_signals" in line.getMessage()  # which receiver
    assert line.exc_info is not None and "raise ValueError" in caplog.text


@pytest.mark.parametrize(
    "previous, health, signal",
    [
        ("OK", "LATE", signals.command_late),
        ("LATE", "MISSED", signals.command_missed),
        ("OK", "FAILING", signals.command_failing),
        ("RUNNING", "OVERRUNNING", signals.command_overrunning),
        ("RUNNING", "STALE", signals.command_stale),
        ("FAILING", "OK", signals.command_recovered),
        ("MISSED", "RUNNING", signals.command_recovered),
        ("LATE", "RUNNING", signals.command_recovered),
        ("OK", "RUNNING", None),
        ("RUNNING", "OK", None),
    ],
)
def test_each_transition_sends_its_signal(connect, previous, health, signal):
    every = [*signals.HEALTH_SIGNALS.values(), signals.command_recovered]
    receivers = {s: connect(s, Receiver()) for s in every}
    transition = failing_transition(previous=previous, health=health)
    signals.send_transition(transition)
    for other, receiver in receivers.items():
        assert len(receiver.calls) == (1 if other is signal else 0)
    if signal is None:
        return
    ((sender, kwargs),) = receivers[signal].calls
    assert sender is Transition
    assert kwargs == {
        "signal": signal,
        "command_id": "import_data__limit_5",
        "previous": previous,
        "health": health,
        "transition": transition,
        "record": transition.record,
    }


def test_a_raising_transition_receiver_is_logged(connect, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("nope")

    connect(signals.command_missed, broken)
    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        signals.send_transition(failing_transition(health="MISSED", record=None))
    assert "raised for import_data__limit_5 (ignored): RuntimeError: nope" in caplog.text


# --- the Transition value -----------------------------------------------------------------------


def test_the_id_is_stable_and_made_of_what_changed():
    one = failing_transition()
    two = failing_transition(host="another-watcher", failures_in_row=5)
    assert one.id == two.id == "import_data__limit_5:FAILING:2026-03-01T04:05:06.789000Z"
    assert failing_transition(at=AT + dt.timedelta(microseconds=1)).id != one.id


def test_a_health_enum_is_kept_as_its_name():
    class Health(str, enum.Enum):
        OK = "OK"
        MISSED = "MISSED"

    transition = failing_transition(health=Health.MISSED, previous=Health.OK)
    assert type(transition.health) is str and transition.health == "MISSED"
    assert transition.previous == "OK" and "MISSED" in transition.id


def test_times_are_utc_and_must_be_aware():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    transition = failing_transition(at=AT.astimezone(plus_two))
    assert transition.at.tzinfo is dt.timezone.utc and transition.at == AT
    with pytest.raises(ValueError, match="aware"):
        failing_transition(at=AT.replace(tzinfo=None))


@pytest.mark.parametrize("record", [None, failed_record()])
def test_the_json_form_round_trips(record):
    transition = failing_transition(record=record, next_expected=AT + dt.timedelta(hours=1))
    data = transition.as_dict()
    assert data["id"] == transition.id and data["at"] == "2026-03-01T04:05:06.789000Z"
    assert Transition.from_dict(data) == transition
