"""The spool on real files, and the sender's store and forward through it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pwd
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from monitorkit import retry
from monitorkit.conf import monitor_settings
from monitorkit.record import RunRecord, Status
from monitorkit.recording.sender import Sender
from monitorkit.recording.spool import (
    MAX_FILE_BYTES,
    Spool,
    deliverable,
    iter_waiting,
    newer,
    reporter_path,
)
from monitorkit.stores.base import Reporter, ReporterError


def record(run_id: str | None = None, status: Status = Status.RUNNING, at: int = 0) -> RunRecord:
    started = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
    latest = started + dt.timedelta(seconds=at)
    return RunRecord(
        id="nightly",
        name="nightly",
        params="",
        run_id=run_id or uuid.uuid4().hex,
        host="h",
        pid=1,
        started=started,
        status=status,
        latest=latest,
        finished=latest if status not in (Status.STARTED, Status.RUNNING) else None,
    )


class MemoryReporter(Reporter):
    """A backend kept in a dict, newest state wins; ``down`` makes every write fail."""

    store: dict[str, RunRecord] = {}
    down = False

    def __init__(self, settings: Any = monitor_settings) -> None:
        super().__init__(settings)
        self.received: list[tuple[str, str]] = []

    def write(self, record: RunRecord) -> None:
        if type(self).down:
            raise ReporterError("the backend is down")
        type(self).store[record.run_id] = record

    def run_state(self, run_id: str) -> dict[str, Any]:
        return {"slot": 7}

    def deliver_spooled(self, record: RunRecord, state: dict[str, Any]) -> None:
        assert state == {"slot": 7}
        current = type(self).store.get(record.run_id)
        if current is None or newer(record, current):
            self.write(record)


@pytest.fixture
def memory() -> type[MemoryReporter]:
    MemoryReporter.store = {}
    MemoryReporter.down = False
    return MemoryReporter


def test_put_writes_one_private_file_per_run_and_reads_it_back(tmp_path: Path, memory):
    spool = Spool(tmp_path / "spool", max_files=10)
    rec = record()
    assert spool.put(memory(), rec)
    (path,) = spool.files()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    item = spool.read(path)
    assert item is not None
    assert item.reporter == reporter_path(memory())
    assert item.state == {"slot": 7}
    assert item.record.as_dict() == rec.as_dict()
    assert [p.name for p in tmp_path.joinpath("spool").iterdir()] == [path.name]  # no temp left


def test_the_newest_state_of_a_run_wins(tmp_path: Path, memory):
    spool = Spool(tmp_path, max_files=10)
    run_id = uuid.uuid4().hex
    spool.put(memory(), record(run_id, Status.RUNNING, at=5))
    spool.put(memory(), record(run_id, Status.RUNNING, at=2))  # older: ignored
    assert spool.read(spool.files()[0]).record.latest.second == 5
    spool.put(memory(), record(run_id, Status.FINISHED, at=3))  # finished beats running
    spool.put(memory(), record(run_id, Status.RUNNING, at=9))  # ...whatever its time
    (only,) = spool.files()
    assert spool.read(only).record.status is Status.FINISHED


def test_the_spool_is_bounded_and_says_so(tmp_path: Path, memory, caplog):
    spool = Spool(tmp_path, max_files=2)
    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        assert [spool.put(memory(), record()) for _ in range(3)] == [True, True, False]
    assert spool.count() == 2
    assert "MONITORKIT_SPOOL_MAX_FILES" in caplog.text


def test_a_file_replaced_during_delivery_is_not_deleted(tmp_path: Path, memory):
    spool = Spool(tmp_path, max_files=10)
    run_id = uuid.uuid4().hex
    spool.put(memory(), record(run_id, at=1))
    (item,) = iter_waiting(spool)
    time.sleep(0.01)
    spool.put(memory(), record(run_id, Status.FINISHED, at=2))  # the run went on meanwhile
    spool.remove(item)
    (left,) = iter_waiting(spool)
    assert left.record.status is Status.FINISHED


def test_an_unreadable_file_is_left_in_place_and_logged(tmp_path: Path, caplog):
    spool = Spool(tmp_path, max_files=10)
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        assert list(iter_waiting(spool)) == []
    assert bad.exists()
    assert "unreadable" in caplog.text


def test_a_spool_file_holds_no_credential(tmp_path: Path, memory):
    spool = Spool(tmp_path, max_files=10)
    spool.put(memory(), record())
    content = json.loads(spool.files()[0].read_text())
    assert set(content) == {"version", "reporter", "state", "record"}


# The sender: deadline, spool, delivery by the next run.


@pytest.fixture
def own_spool(settings, tmp_path: Path) -> Spool:
    settings.MONITORKIT_SPOOL_DIR = str(tmp_path / "spool")
    settings.MONITORKIT_FLUSH_TIMEOUT = 1.0
    return Spool(tmp_path / "spool")


def test_a_refused_record_goes_to_the_spool_and_the_next_run_delivers_it(own_spool, memory):
    memory.down = True
    sender = Sender()
    lost = record(status=Status.FINISHED)
    sender.submit(lost, [memory()], timeout=0.2)
    assert sender.flush(5)
    assert own_spool.count() == 1
    assert memory.store == {}

    memory.down = False  # the backend is back; a later run (another sender) delivers it
    later = Sender()
    fresh = record(status=Status.FINISHED)
    later.submit(fresh, [memory()], timeout=1.0)
    assert later.flush(5)
    assert set(memory.store) == {lost.run_id, fresh.run_id}
    assert own_spool.count() == 0


def test_delivering_twice_stores_once(own_spool, memory):
    """A process killed between delivering a file and deleting it: the file is delivered again."""
    memory.down = True
    rec = record(status=Status.FINISHED)
    Sender().submit(rec, [memory()], timeout=0.1)
    wait = time.monotonic() + 5
    while own_spool.count() == 0 and time.monotonic() < wait:
        time.sleep(0.01)
    (item,) = iter_waiting(own_spool)
    memory.down = False
    memory().deliver_spooled(item.record, item.state)  # delivered, then "killed": file stays
    first = dict(memory.store)
    later = Sender()
    later.submit(record(status=Status.FINISHED), [memory()], timeout=1.0)
    assert later.flush(5)
    assert memory.store[rec.run_id].as_dict() == first[rec.run_id].as_dict()
    assert len(memory.store) == 2
    assert own_spool.count() == 0


def test_an_undelivered_queue_is_spooled_when_the_flush_gives_up(own_spool):
    stalled = threading.Event()

    class Stalled(Reporter):
        def write(self, record: RunRecord) -> None:
            stalled.wait(10)

    sender = Sender()
    rec = record(status=Status.FINISHED)
    sender.submit(rec, [Stalled()], timeout=10)
    assert sender.flush(0.1) is False
    assert sender.spool_pending() == 1
    (item,) = iter_waiting(own_spool)
    assert item.record.run_id == rec.run_id
    stalled.set()  # the backend answers after all: the spooled copy is let go
    assert sender.flush(5)
    assert own_spool.count() == 0


# Retries stop at the deadline, not after a count.


def test_retries_go_on_until_the_deadline_then_give_up():
    calls = []

    def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) <= 5:
            raise retry.RetryableError("503")
        return "ok"

    policy = retry.RetryPolicy(base=0.01, cap=0.02)
    with retry.deadline(time.monotonic() + 5):
        assert retry.call_with_retries(flaky, policy) == "ok"  # 5 failures: more than 3
    assert len(calls) == 6

    def down() -> str:
        raise retry.RetryableError("503")

    started = time.monotonic()
    with retry.deadline(started + 0.3), pytest.raises(retry.RetryableError):
        retry.call_with_retries(down, policy)
    assert time.monotonic() - started >= 0.3  # used the time it had


def test_a_retry_after_beyond_the_deadline_gives_up_at_once():
    def busy() -> str:
        raise retry.RetryableError("429", delay=60)

    slept: list[float] = []
    with retry.deadline(time.monotonic() + 1), pytest.raises(retry.RetryableError):
        retry.call_with_retries(busy, retry.RetryPolicy(), sleep=slept.append)
    assert slept == []


def test_without_a_deadline_a_write_gets_three_attempts():
    calls = []

    def down() -> None:
        calls.append(1)
        raise retry.RetryableError("503")

    with pytest.raises(retry.RetryableError):
        retry.call_with_retries(down, retry.RetryPolicy(), sleep=lambda _: None)
    assert len(calls) == retry.ATTEMPTS_WITHOUT_DEADLINE


# What the spool trusts: a directory and files of this user's own, nothing named in a file.


def test_a_directory_open_to_group_or_others_is_refused_with_one_warning(
    tmp_path: Path, memory, caplog
):
    directory = tmp_path / "spool"
    directory.mkdir()
    directory.chmod(0o755)
    spool = Spool(directory, max_files=10)
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        assert spool.put(memory(), record()) is False
        assert spool.put(memory(), record()) is False
        assert spool.count() == 0
    assert list(directory.iterdir()) == []
    refusals = [r for r in caplog.records if "does not use the spool directory" in r.getMessage()]
    assert len(refusals) == 1
    assert "mode 0755" in refusals[0].getMessage()
    assert "it is lost" in caplog.text


def test_a_directory_that_is_a_symbolic_link_is_refused(tmp_path: Path, memory, caplog):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        assert Spool(tmp_path / "link").put(memory(), record()) is False
    assert "it is a symbolic link" in caplog.text
    assert list(real.iterdir()) == []


def test_only_regular_files_of_this_users_are_read(tmp_path: Path, memory, caplog):
    spool = Spool(tmp_path / "spool", max_files=10)
    kept = record()
    spool.put(memory(), kept)
    (good,) = spool.files()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(good.read_bytes())
    os.mkfifo(spool.directory / "fifo.MemoryReporter.json")  # never opened for a blocking read
    (spool.directory / "link.MemoryReporter.json").symlink_to(elsewhere)
    (spool.directory / "big.MemoryReporter.json").write_bytes(b" " * (MAX_FILE_BYTES + 1))
    if os.geteuid() == 0:
        theirs = spool.directory / "theirs.MemoryReporter.json"
        theirs.write_bytes(good.read_bytes())
        nobody = pwd.getpwnam("nobody")
        os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        assert [item.record.run_id for item in spool.waiting()] == [kept.run_id]
        list(spool.waiting())  # a second drain says nothing new
        assert spool.read(spool.directory / "link.MemoryReporter.json") is None  # O_NOFOLLOW
        assert spool.read(spool.directory / "fifo.MemoryReporter.json") is None  # no blocking
    skipped = [r.getMessage() for r in caplog.records if "skipped spool file" in r.getMessage()]
    assert any("fifo" in m and "not a regular file" in m for m in skipped)
    assert any("link" in m and "symbolic link" in m for m in skipped)
    assert any("big" in m and "larger than" in m for m in skipped)
    if os.geteuid() == 0:
        assert any("theirs" in m and f"owned by uid {nobody.pw_uid}" in m for m in skipped)
    assert len(skipped) == len(set(skipped))  # each once


def test_a_reporter_named_in_a_file_is_never_imported(tmp_path: Path, memory, caplog):
    spool = Spool(tmp_path / "spool", max_files=10)
    ours = record()
    spool.put(memory(), ours)
    (path,) = spool.files()
    forged = json.loads(path.read_text())
    forged["reporter"] = "sys.exit"
    (spool.directory / "forged.exit.json").write_text(json.dumps(forged))
    configured = {reporter_path(memory()): memory()}
    with caplog.at_level(logging.ERROR, logger="monitorkit"):
        found = deliverable(spool, configured, 10, report_others=True)
    assert [(type(r), item.record.run_id) for r, item in found] == [(memory, ours.run_id)]
    assert "'sys.exit', which is not one of the project's configured stores" in caplog.text
    assert spool.count() == 2  # kept


def test_a_start_delivered_after_its_finish_was_spooled_leaves_no_copy(own_spool):
    """A nested run's start is being written (its caller's transaction holds it) when the run
    ends and keeps its finish in the spool as a backup: once both are delivered, no file stays.
    Seen under load: the start's delivery let go of the backup's bookkeeping, not of its file."""
    entered, gate = threading.Event(), threading.Event()
    written: list[Status] = []

    class SlowStart(Reporter):
        def write(self, record: RunRecord) -> None:
            if record.status is Status.STARTED:
                entered.set()
                gate.wait(10)
            written.append(record.status)

        def run_state(self, run_id: str) -> dict[str, Any]:
            return {}

    sender = Sender()
    reporter = SlowStart()
    run_id = uuid.uuid4().hex
    sender.submit(record(run_id, Status.STARTED), [reporter], timeout=10)
    assert entered.wait(10)
    sender.submit(record(run_id, Status.FINISHED, at=1), [reporter], timeout=10)
    assert sender.spool_pending(run_id, backup=True) == 1
    gate.set()
    assert sender.flush(5)
    assert written == [Status.STARTED, Status.FINISHED]
    assert own_spool.count() == 0
