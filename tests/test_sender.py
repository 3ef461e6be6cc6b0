"""The background sender: bounded queue, bounded flush, failures logged and contained."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import uuid

from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.recording import sender as sender_module
from monitorkit.recording.sender import Sender
from monitorkit.stores.base import Reporter, ReporterError


class GatedReporter(Reporter):
    """A backend that answers only when the test opens the gate (a stalled server)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.delivered: list[str] = []

    def write(self, record: RunRecord) -> None:
        self.gate.wait(10)
        self.delivered.append(record.run_id)


class BrokenReporter(Reporter):
    def write(self, record: RunRecord) -> None:
        raise ReporterError("the backend said no")


def record(status: Status = Status.STARTED) -> RunRecord:
    now = utcnow()
    return RunRecord(
        id="cmd",
        name="cmd",
        params="",
        run_id=uuid.uuid4().hex,
        host="h",
        pid=1,
        started=now,
        status=status,
    )


def event(rec: RunRecord, status: Status) -> RunRecord:
    """Return the run's record at an event: its start, a heartbeat or its outcome."""
    return dataclasses.replace(rec, status=status)


def test_full_queue_drops_counts_and_logs(caplog):
    reporter = GatedReporter()
    sender = Sender(queue_size=3)
    accepted = [sender.submit(record(), [reporter]) for _ in range(5)]
    assert accepted == [True, True, True, False, False]
    assert sender.flush(0.05) is False  # the backend is stalled: the flush gives up in time
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        reporter.gate.set()
        assert sender.flush(10) is True
        sender.submit(record(), [reporter])  # wakes the thread once more
        assert sender.flush(10) is True
        for _ in range(200):
            if dropped_in(caplog.text) == 2:
                break
            threading.Event().wait(0.01)
    assert len(reporter.delivered) == 4
    # Counted from the sender's thread: one line for both, or one each when it woke between.
    assert dropped_in(caplog.text) == 2


def dropped_in(log: str) -> int:
    """Return the record updates the log says were dropped, over all its lines."""
    return sum(int(n) for n in re.findall(r"dropped (\d+) record update\(s\)", log))


def test_a_failing_reporter_is_logged_and_others_still_get_the_record(caplog):
    good = GatedReporter()
    good.gate.set()
    sender = Sender()
    rec = record()
    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        sender.submit(rec, [BrokenReporter(), good])
        assert sender.flush(10)
    assert good.delivered == [rec.run_id]
    assert f"could not deliver the start of run {rec.run_id}" in caplog.text
    assert "BrokenReporter: ReporterError: the backend said no" in caplog.text


class KindsReporter(GatedReporter):
    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()

    def write(self, record: RunRecord) -> None:
        if record.status is Status.STARTED:
            self.entered.set()
            self.gate.wait(10)
            self.delivered.append(f"start {record.run_id[:4]}")
        elif record.status is Status.RUNNING:
            self.delivered.append(f"heartbeat {record.run_id[:4]}")
        else:
            self.delivered.append(f"finish {record.run_id[:4]}")


def test_a_start_or_heartbeat_made_redundant_by_a_later_event_is_skipped():
    reporter = KindsReporter()
    sender = Sender()
    busy, short = record(), record()
    busy.run_id, short.run_id = "aaaa" + busy.run_id[4:], "bbbb" + short.run_id[4:]
    sender.submit(busy, [reporter])  # the backend is slow with this one...
    assert reporter.entered.wait(10)
    for status in (Status.STARTED, Status.RUNNING, Status.FINISHED):  # ...a short run comes, goes
        sender.submit(event(short, status), [reporter])
    sender.submit(event(busy, Status.RUNNING), [reporter])
    reporter.gate.set()
    assert sender.flush(10)
    assert reporter.delivered == ["start aaaa", "finish bbbb", "heartbeat aaaa"]


def test_a_run_that_ends_at_once_costs_one_write(monkeypatch):
    monkeypatch.setattr(sender_module, "START_SETTLE_SECONDS", 30.0)  # no race with the clock
    reporter = KindsReporter()
    reporter.gate.set()
    sender = Sender()
    short = record()
    short.run_id = "cccc" + short.run_id[4:]
    sender.submit(short, [reporter])  # the start waits a moment for the finish...
    sender.submit(event(short, Status.FINISHED), [reporter])  # ...which comes: only it is sent
    assert sender.flush(10)
    assert reporter.delivered == ["finish cccc"]


def test_a_heartbeat_takes_the_place_of_its_runs_waiting_heartbeat():
    """A stalled backend holds one heartbeat per run, so an outcome always finds room."""
    reporter = KindsReporter()
    sender = Sender(queue_size=5)
    busy, beating = record(), record()
    busy.run_id, beating.run_id = "aaaa" + busy.run_id[4:], "bbbb" + beating.run_id[4:]
    sender.submit(busy, [reporter])  # the backend stalls on this one
    assert reporter.entered.wait(10)
    sender.submit(beating, [reporter])
    beats = [
        dataclasses.replace(beating, status=Status.RUNNING, message=f"beat {n}") for n in range(50)
    ]
    assert all(sender.submit(beat, [reporter]) for beat in beats)  # none dropped
    assert sender.pending == 3  # the stalled start, the other start, one heartbeat
    assert sender.submit(event(beating, Status.FINISHED), [reporter])
    reporter.gate.set()
    assert sender.flush(10)
    assert reporter.delivered == ["start aaaa", "finish bbbb"]


def test_the_newest_heartbeat_is_the_one_written():
    written: list[str] = []

    class Recorder(KindsReporter):
        def write(self, record: RunRecord) -> None:
            super().write(record)
            written.append(record.message or "")

    reporter = Recorder()
    sender = Sender()
    busy, beating = record(), record()
    sender.submit(busy, [reporter])
    assert reporter.entered.wait(10)
    sender.submit(event(beating, Status.RUNNING), [reporter])
    for n in range(5):
        sender.submit(
            dataclasses.replace(beating, status=Status.RUNNING, message=f"beat {n}"), [reporter]
        )
    reporter.gate.set()
    assert sender.flush(10)
    assert written[1:] == ["beat 4"]


class SlowBeatReporter(Reporter):
    """Heartbeats take a known time to write; starts and outcomes are instant."""

    def __init__(self, beat_seconds: float) -> None:
        super().__init__()
        self.beat_seconds = beat_seconds

    def write(self, record: RunRecord) -> None:
        if record.status is Status.RUNNING:
            threading.Event().wait(self.beat_seconds)


def test_the_sender_times_its_heartbeat_writes_only():
    sender = Sender()
    reporter = SlowBeatReporter(0.05)
    rec = record(Status.RUNNING)
    sender.submit(rec, [reporter])
    assert sender.flush(10)
    assert 0.05 <= sender.beat_cost < 5
    sender.beat_cost = 0.0
    sender.submit(event(rec, Status.FINISHED), [reporter])
    assert sender.flush(10)
    assert sender.beat_cost == 0.0
