"""A monitored command's one look at the watcher: on the sender's thread, once per process.

The command's thread only asks for it (no query, no import of the health store there); the
sender takes it after a write went through, logs one warning when no watcher runs, and never
again in the process however many runs follow. (A look that fails is silent:
``tests/test_sqlite_interrupt_processes.py`` runs a command on a database not migrated yet.)
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitorkit.recording import sender as sender_module
from tests.process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

NEVER = "No watcher has ever run"


@pytest.fixture
def fresh_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sender of this test's own: the process's one may have looked already."""
    monkeypatch.setattr(sender_module, "_sender", None)


def test_the_look_is_taken_on_the_sender_s_thread_once_per_process(
    fresh_sender: None, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        with CaptureQueriesContext(connection) as on_command_thread:
            call_command("scheduled_command", "--seconds=0.2")  # its class declares a schedule
        wait_for(lambda: NEVER in caplog.text, timeout=20)
        sender = sender_module.get_sender()
        assert sender._watcher_looked and sender._watcher_look is None
        call_command("scheduled_command", "--seconds=0.2")
        assert sender._watcher_look is None  # not asked again: the process looked once
    assert caplog.text.count(NEVER) == 1
    assert not any("watchercycle" in q["sql"] for q in on_command_thread.captured_queries)
    (record,) = [r for r in caplog.records if NEVER in r.getMessage()]
    assert record.threadName == "monitorkit-sender" and record.levelno == logging.WARNING


def test_the_look_s_imports_are_done_before_the_run_s_first_write(fresh_sender: None) -> None:
    """Prepared as soon as it is asked for, not when the first write went through: that write
    can wait for the command's own long query on SQLite, and an import building dataclasses on
    the sender's thread while the command exits on an uncaught KeyboardInterrupt made CPython
    (before 3.14) exit 1 instead of by SIGINT (python/cpython#128130;
    ``tests/test_sqlite_interrupt_processes.py`` shows it against the twin)."""
    import threading

    from monitorkit.record import RunRecord, utcnow
    from monitorkit.stores.base import Reporter

    said: list[str] = []
    gate = threading.Event()

    class HeldStore(Reporter):
        def write(self, record: RunRecord) -> None:
            gate.wait(timeout=30)  # a write that waits, as one behind the command's query
            said.append("write")

    class Look:
        def prepare(self) -> None:
            said.append(f"prepare on {threading.current_thread().name}")

        def __call__(self) -> None:
            said.append("look")

    sender = sender_module.get_sender()
    record = RunRecord("held", "held", "", "run-held", "web-1", 1, utcnow())
    sender.look_at_watcher(Look())
    sender.submit(record, [HeldStore()], timeout=30)
    wait_for(lambda: said, timeout=20)
    assert said == ["prepare on monitorkit-sender"]  # before the write went through
    gate.set()
    wait_for(lambda: "look" in said, timeout=20)
    assert said == ["prepare on monitorkit-sender", "write", "look"]
