"""``monitorkit.monitor`` in process: decorated functions and ``with`` blocks, sync and async.

Runs go to the embedded SQLite store through the real sender; each call flushes before it
returns, so its record is there to read when the call is over.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import textwrap
import threading
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import override_settings

import monitorkit
from monitorkit.decorators import FunctionMonitor, Monitor
from monitorkit.health import schedules
from monitorkit.models import CommandRun
from monitorkit.recording.run import current_run
from monitorkit.stores.base import Reporter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_declarations(monkeypatch):
    """Each test declares into an empty registry, so no schedule leaks into another test."""
    monkeypatch.setattr(schedules, "_declarations", {})


def runs(command_id: str) -> list[CommandRun]:
    return list(CommandRun.objects.filter(command_id=command_id).order_by("seq"))


def frames(error: BaseException) -> list[tuple[str, str, str | None]]:
    """The traceback's frames outside monitorkit: (file, function, line of source)."""
    return [
        (f.filename, f.name, f.line)
        for f in traceback.extract_tb(error.__traceback__)
        if "/monitorkit/" not in f.filename
    ]


# --- sync ------------------------------------------------------------------------------------


@monitorkit.monitor("double")
def double(x: int, *, token: str = "") -> int:
    """Double a number."""
    return x * 2


def test_a_call_is_one_finished_run_and_returns_its_value():
    assert double(21, token="hunter2") == 42
    (run,) = runs("double")
    assert run.status == "FINISHED" and run.message == "Finished"
    assert run.exit_code is None, "a function has no exit status"
    assert run.name == "double" and run.params == ""
    assert run.finished is not None
    stored = " ".join(str(v) for v in CommandRun.objects.values().get().values())
    assert "hunter2" not in stored, "the call's arguments are never recorded"


def test_the_function_keeps_its_name_docstring_and_signature():
    assert double.__name__ == "double" and double.__doc__ == "Double a number."
    assert list(inspect.signature(double).parameters) == ["x", "token"]
    assert double.__wrapped__.__qualname__ == "double"


RAISED: list[BaseException] = []


def boom() -> ValueError:
    """A new error each time (an error raised twice would carry both tracebacks), kept."""
    RAISED.append(ValueError("boom: the input is bad"))
    return RAISED[-1]


def fail_plain() -> None:
    raise boom()


fail_monitored = monitorkit.monitor("fail")(fail_plain)


def test_a_failure_passes_through_unchanged_and_is_recorded():
    with pytest.raises(ValueError) as info:
        fail_monitored()
    caught = info.value
    assert caught is RAISED[-1], "the very same exception object"
    assert caught.__cause__ is None and caught.__context__ is None, "nothing chained"
    monitored_frames = frames(caught)
    assert monitored_frames[-1][1] == "fail_plain"

    with override_settings(FIREBASE_MONITORING_RUN=False), pytest.raises(ValueError) as plain:
        fail_monitored()
    assert frames(plain.value) == monitored_frames, "the user's frames, as without monitoring"

    (run,) = runs("fail")
    assert run.status == "FAILED"
    assert run.message == "boom: the input is bad"
    assert run.exception_type == "builtins.ValueError"
    assert run.exit_code is None
    assert "raise boom()" in run.traceback and "ValueError: boom" in run.traceback
    assert "monitorkit/" not in run.traceback, "no frame of ours in the stored traceback"


@monitorkit.monitor("exits")
def exits(status: int) -> None:
    sys.exit(status)


def test_sys_exit_is_the_one_exit_status_a_function_has():
    with pytest.raises(SystemExit):
        exits(3)
    with pytest.raises(SystemExit):
        exits(0)
    failed, finished = runs("exits")
    assert (failed.status, failed.exit_code) == ("FAILED", 3)
    assert (finished.status, finished.exit_code) == ("FINISHED", 0)


# --- async -----------------------------------------------------------------------------------


@monitorkit.monitor("fetch")
async def fetch(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


@monitorkit.monitor("fetch_fails")
async def fetch_fails() -> None:
    await asyncio.sleep(0)
    raise boom()


def test_an_async_function_stays_a_coroutine_function_and_is_one_run():
    assert inspect.iscoroutinefunction(fetch)
    assert asyncio.run(fetch(1)) == 2
    (run,) = runs("fetch")
    assert run.status == "FINISHED"


def test_an_async_failure_passes_through_unchanged_and_is_recorded():
    with pytest.raises(ValueError) as info:
        asyncio.run(fetch_fails())
    assert info.value is RAISED[-1] and info.value.__context__ is None
    (run,) = runs("fetch_fails")
    assert run.status == "FAILED" and run.exception_type == "builtins.ValueError"
    assert "raise boom()" in run.traceback
    assert "monitorkit/" not in run.traceback, "the coroutine wrapper's frame is left out"


class GateReporter(Reporter):
    """Holds every finish until the test opens the gate: a backend that answers slowly."""

    entered = threading.Event()
    gate = threading.Event()

    def write(self, record: Any) -> None:
        if record.is_finished:
            type(self).entered.set()
            type(self).gate.wait(10)


@override_settings(
    MONITORKIT_REPORTERS=["tests.test_decorators.GateReporter"],
    MONITORKIT_DATABASE=False,
    MONITORKIT_FLUSH_TIMEOUT=5,
)
def test_the_final_flush_of_a_coroutine_leaves_the_event_loop_free():
    """While a slow backend holds the flush, other tasks on the loop go on.

    A flush on the loop's thread would hold the loop until the flush bound ran out, and the
    task that opens the gate could only run after the monitored call had returned.
    """
    GateReporter.entered.clear()
    GateReporter.gate.clear()
    seen: dict[str, bool] = {}

    async def open_the_gate() -> None:
        while not GateReporter.entered.is_set():
            await asyncio.sleep(0.005)
        seen["loop ran during the flush"] = True
        GateReporter.gate.set()

    async def main() -> None:
        opener = asyncio.create_task(open_the_gate())
        assert await fetch(1) == 2
        seen["returned after the gate opened"] = seen.get("loop ran during the flush", False)
        await opener

    try:
        asyncio.run(main())
    finally:
        GateReporter.gate.set()
    assert seen == {"loop ran during the flush": True, "returned after the gate opened": True}


def test_async_nesting_restores_the_outer_run_in_its_task():
    async def main() -> Any:
        async with monitorkit.monitor("async_outer"):
            outer_run = current_run.get()
            assert await fetch(1) == 2
            assert current_run.get() is outer_run, "reset in the task's own context"
        return current_run.get()

    assert asyncio.run(main()) is None
    assert [r.status for r in runs("async_outer") + runs("fetch")] == ["FINISHED", "FINISHED"]


def test_concurrent_tasks_each_get_their_own_run():
    @monitorkit.monitor("gathered")
    async def gathered(i: int) -> str:
        await asyncio.sleep(0.01)  # all five are started before any ends
        run = current_run.get()
        assert run is not None
        return run.record.run_id

    async def main() -> list[str]:
        return list(await asyncio.gather(*(gathered(i) for i in range(5))))

    seen = asyncio.run(main())
    assert len(set(seen)) == 5
    assert {r.run_id for r in runs("gathered")} == set(seen)


def test_a_cancelled_coroutine_is_failed_and_the_cancellation_goes_on():
    @monitorkit.monitor("cancelled")
    async def forever(started: asyncio.Event) -> None:
        started.set()
        await asyncio.sleep(60)

    async def main() -> bool:
        started = asyncio.Event()
        task = asyncio.create_task(forever(started))
        await started.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return task.cancelled()
        return False

    assert asyncio.run(main()) is True
    (run,) = runs("cancelled")
    assert run.status == "FAILED"
    assert run.exception_type == "asyncio.exceptions.CancelledError"


def test_an_async_with_block_is_one_run():
    async def main() -> str | None:
        async with monitorkit.monitor("async_block") as run:
            await asyncio.sleep(0)
            run.progress(2, 4)
            assert current_run.get() is not None
            return run.run_id

    run_id = asyncio.run(main())
    (run,) = runs("async_block")
    assert run.run_id == run_id and run.status == "FINISHED"
    assert run.progress == {"done": 2, "total": 4}


def test_an_async_with_block_that_raises():
    async def main() -> None:
        async with monitorkit.monitor("async_block_fails"):
            raise boom()

    with pytest.raises(ValueError) as info:
        asyncio.run(main())
    assert info.value is RAISED[-1]
    (run,) = runs("async_block_fails")
    assert run.status == "FAILED" and "raise boom()" in run.traceback


# --- nesting, recursion, threads -------------------------------------------------------------


@monitorkit.monitor("inner")
def inner() -> str:
    run = current_run.get()
    assert run is not None
    return run.record.run_id


def test_nested_runs_each_get_their_own_and_the_outer_one_is_restored():
    assert current_run.get() is None
    with monitorkit.monitor("outer") as outer:
        outer_run = current_run.get()
        assert outer_run is not None and outer_run.record.run_id == outer.run_id
        inner_id = inner()
        assert current_run.get() is outer_run, "the outer run is current again"
    assert current_run.get() is None
    assert [r.run_id for r in runs("inner")] == [inner_id]
    assert [r.run_id for r in runs("outer")] == [outer.run_id]
    assert inner_id != outer.run_id
    assert runs("outer")[0].finished >= runs("inner")[0].finished


@monitorkit.monitor("factorial")
def factorial(n: int) -> int:
    return 1 if n <= 1 else n * factorial(n - 1)


def test_a_recursive_function_is_one_run_per_call():
    assert factorial(4) == 24
    found = runs("factorial")
    assert len(found) == 4 and len({r.run_id for r in found}) == 4
    assert {r.status for r in found} == {"FINISHED"}
    assert current_run.get() is None


def test_eight_concurrent_calls_in_threads_are_eight_runs():
    barrier = threading.Barrier(8, timeout=20)

    @monitorkit.monitor("pooled")
    def pooled(i: int) -> tuple[int, str]:
        barrier.wait()  # all eight are inside at once
        run = current_run.get()
        assert run is not None
        return i, run.record.run_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(pooled, range(8)))
    assert [i for i, _ in results] == list(range(8))
    seen_ids = {run_id for _, run_id in results}
    assert len(seen_ids) == 8, "each call saw its own run"
    found = runs("pooled")
    assert {r.run_id for r in found} == seen_ids
    assert {r.status for r in found} == {"FINISHED"}


def test_one_declaration_entered_twice_at_once_is_two_runs():
    shared = monitorkit.monitor("shared")
    with shared as first:
        with shared as second:
            second.progress(1, 1)
        first.progress(2, 2)
    assert first.run_id != second.run_id
    found = {r.run_id: r for r in runs("shared")}
    assert found[first.run_id].progress == {"done": 2, "total": 2}
    assert found[second.run_id].progress == {"done": 1, "total": 1}
    assert {r.status for r in found.values()} == {"FINISHED"}


# --- the with block's handle, progress, metadata ---------------------------------------------


def test_a_with_block_reports_progress_and_metadata():
    with monitorkit.monitor("block") as run:
        run.progress(3, 10)
        run.metadata["rows"] = 120
    (stored,) = runs("block")
    assert stored.run_id == run.run_id
    assert stored.progress == {"done": 3, "total": 10}
    assert stored.metadata == {"rows": 120}


def test_track_inside_a_with_block_counts_for_its_run():
    with monitorkit.monitor("walk"):
        assert list(monitorkit.track(["a", "b", "c"])) == ["a", "b", "c"]
    assert runs("walk")[0].progress == {"done": 3, "total": 3}


def test_a_with_block_that_raises_is_failed_and_the_error_passes():
    with pytest.raises(ValueError) as info, monitorkit.monitor("block_fails"):
        raise boom()
    assert info.value is RAISED[-1]
    (run,) = runs("block_fails")
    assert run.status == "FAILED" and "raise boom()" in run.traceback


def test_progress_is_shipped_with_the_next_heartbeat():
    @monitorkit.monitor("beating", heartbeat_interval=0.05)
    def beating() -> dict[str, Any] | None:
        with monitorkit.monitor("beating_block", heartbeat_interval=0.05) as run:
            run.progress(5, 10)
            for _ in range(500):  # wait for a heartbeat to carry it
                row = CommandRun.objects.filter(command_id="beating_block").first()
                if row is not None and row.status == "RUNNING" and row.progress:
                    return row.progress
                threading.Event().wait(0.02)
        return None

    assert beating() == {"done": 5, "total": 10}


def test_metadata_dict_and_callable():
    calls: list[int] = []

    def fields() -> dict[str, Any]:
        calls.append(1)
        return {"calls": len(calls)}

    with monitorkit.monitor("with_dict", metadata={"queue": "default"}):
        pass
    with monitorkit.monitor("with_callable", metadata=fields):
        pass
    assert runs("with_dict")[0].metadata == {"queue": "default"}
    assert runs("with_callable")[0].metadata == {"calls": 2}, "called at the start and the end"


def test_a_failing_metadata_callable_costs_only_its_fields(caplog):
    def broken() -> dict[str, Any]:
        raise RuntimeError("no metadata today")

    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        with monitorkit.monitor("broken_metadata", metadata=broken) as run:
            run.metadata["rows"] = 3
        with monitorkit.monitor("list_metadata", metadata=lambda: ["not", "a", "dict"]):
            pass
        monitorkit.monitor("wrong_metadata", metadata=42)  # type: ignore[arg-type]
    (stored,) = runs("broken_metadata")
    assert stored.status == "FINISHED" and stored.metadata == {"rows": 3}
    assert runs("list_metadata")[0].metadata == {}
    assert "metadata callable of monitor 'broken_metadata' failed" in caplog.text
    assert "returned a list, not a dict" in caplog.text
    assert "metadata= of monitor 'wrong_metadata' must be a dict" in caplog.text


def test_a_bad_heartbeat_interval_is_logged_and_the_setting_used(caplog, settings):
    settings.FIREBASE_MONITORING_INTERVAL_PING = 7
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        declared = monitorkit.monitor("odd_interval", heartbeat_interval=-1)
    assert "heartbeat_interval= of monitor 'odd_interval'" in caplog.text
    assert FunctionMonitor(declared).get_monitor_heartbeat_interval() == 7
    fast = monitorkit.monitor("fast", heartbeat_interval=0.5)
    assert FunctionMonitor(fast).get_monitor_heartbeat_interval() == 0.5


# --- switches --------------------------------------------------------------------------------


@pytest.mark.parametrize("switch", [{"FIREBASE_MONITORING_RUN": False}, {"TESTING": True}])
def test_switched_off_the_function_just_runs(switch):
    with override_settings(**switch):
        assert double(2) == 4
        assert asyncio.run(fetch(2)) == 3
        with monitorkit.monitor("off_block") as run:
            run.progress(1, 2)  # accepted, and nothing happens
            run.metadata["x"] = 1
            assert current_run.get() is None
        with pytest.raises(ValueError):
            fail_monitored()
    assert run.run_id is None
    assert CommandRun.objects.count() == 0


# --- what may and may not be decorated -------------------------------------------------------


def test_a_generator_function_is_refused_at_decoration():
    def numbers() -> Any:
        yield 1

    async def async_numbers() -> Any:
        yield 1

    with pytest.raises(TypeError, match="generator function"):
        monitorkit.monitor("gen")(numbers)
    with pytest.raises(TypeError, match="generator function"):
        monitorkit.monitor("agen")(async_numbers)
    with pytest.raises(TypeError, match="needs a name"):
        monitorkit.monitor("")
    with pytest.raises(TypeError, match="decorates a callable"):
        monitorkit.monitor("x")(42)  # type: ignore[type-var]


class Jobs:
    factor = 3

    @monitorkit.monitor("method")
    def method(self, x: int) -> int:
        return x * self.factor

    @classmethod
    @monitorkit.monitor("class_method")
    def class_method(cls, x: int) -> int:
        return x * cls.factor

    @monitorkit.monitor("class_method_outside")
    @classmethod
    def class_method_outside(cls, x: int) -> int:
        return x + cls.factor

    @staticmethod
    @monitorkit.monitor("static")
    def static(x: int) -> int:
        return -x

    @monitorkit.monitor("static_outside")
    @staticmethod
    async def static_outside(x: int) -> int:
        return x


def test_methods_classmethods_and_staticmethods():
    assert Jobs().method(2) == 6
    assert Jobs.class_method(2) == 6
    assert Jobs.class_method_outside(2) == 5
    assert Jobs().static(2) == -2
    assert asyncio.run(Jobs.static_outside(4)) == 4
    for name in ("method", "class_method", "class_method_outside", "static", "static_outside"):
        assert [r.status for r in runs(name)] == ["FINISHED"], name


# --- schedules -------------------------------------------------------------------------------


def test_a_declared_schedule_is_registered_for_the_watcher(settings):
    monitorkit.monitor("nightly", schedule="0 3 * * *", timezone="Europe/Paris", max_runtime=60)
    monitorkit.monitor("unscheduled")
    settings.MONITORKIT_SCHEDULES = {"nightly": {"alert_after": 3}}
    found = schedules.discover()
    nightly = found["nightly"]
    assert nightly.schedule == "0 3 * * *" and nightly.timezone == "Europe/Paris"
    assert nightly.max_runtime.total_seconds() == 60
    assert nightly.alert_after == 3, "MONITORKIT_SCHEDULES, keyed by the name, goes over it"
    assert "monitorkit.monitor('nightly')" in nightly.source
    assert "unscheduled" not in found
    assert CommandRun.objects.count() == 0, "declaring runs nothing"


def test_a_bad_schedule_value_is_logged_and_left_out(caplog):
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        declared = monitorkit.monitor("badly", schedule="every night", max_runtime=60)
    assert isinstance(declared, Monitor)
    assert "'badly'" in caplog.text and "schedule" in caplog.text
    found = schedules.discover()["badly"]
    assert found.schedule is None and found.max_runtime.total_seconds() == 60
    assert [p.id for p in schedules.problems()] == ["monitorkit.W103"]


def test_the_last_declaration_of_a_name_wins():
    monitorkit.monitor("twice", schedule=60)
    monitorkit.monitor("twice", schedule=120)  # e.g. a module imported again
    assert schedules.discover()["twice"].schedule.total_seconds() == 120
    assert schedules.problems() == []


def test_a_name_a_command_class_declares_too_is_a_warning():
    """tests/testapp's scheduled_command declares a schedule on its class."""
    monitorkit.monitor("scheduled_command", schedule=60)
    assert schedules.discover()["scheduled_command"].schedule.total_seconds() == 60
    (problem,) = schedules.problems()
    assert problem.id == "monitorkit.W109"
    assert "monitorkit.monitor('scheduled_command')" in problem.msg


@pytest.fixture
def jobs_module(tmp_path, monkeypatch):
    """A module of the project's, never imported yet, that declares a scheduled function."""
    name = f"decjobs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import monitorkit

            @monitorkit.monitor("imported_job", schedule=3600)
            def imported_job():
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_monitor_modules_are_imported_by_discover(jobs_module, settings, caplog):
    assert "imported_job" not in schedules.discover()
    assert jobs_module not in sys.modules
    settings.MONITORKIT_MONITOR_MODULES = [jobs_module, "no_such_package.tasks", 42]
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        found = schedules.discover()
    assert found["imported_job"].schedule.total_seconds() == 3600
    problems = schedules.problems()
    assert [p.id for p in problems] == ["monitorkit.W110", "monitorkit.W110"]
    assert problems[0].msg == "MONITORKIT_MONITOR_MODULES holds 42, not a module path."
    assert "'no_such_package.tasks' cannot be imported (ModuleNotFoundError)" in problems[1].msg
    assert "importing it raised ModuleNotFoundError" in caplog.text


def test_monitor_modules_of_the_wrong_shape(settings):
    settings.MONITORKIT_MONITOR_MODULES = "myapp.tasks"
    (problem,) = schedules.problems()
    assert problem.id == "monitorkit.W110" and "must be a list" in problem.msg
    from monitorkit.checks import check_schedules_and_alerts

    assert [m.id for m in check_schedules_and_alerts()] == ["monitorkit.W110"]


# --- the output tail -------------------------------------------------------------------------


def test_what_a_function_prints_is_kept_with_its_record_and_still_printed(capsys):
    @monitorkit.monitor("printer")
    def printer() -> None:
        print("line one")
        print("line two", file=sys.stderr)

    @monitorkit.monitor("async_printer")
    async def async_printer() -> None:
        print("from a coroutine")

    printer()
    asyncio.run(async_printer())
    with monitorkit.monitor("block_printer"):
        print("from a block")
    out, err = capsys.readouterr()
    assert out == "line one\nfrom a coroutine\nfrom a block\n" and err == "line two\n"
    assert runs("printer")[0].output == "line one\nline two\n"
    assert runs("async_printer")[0].output == "from a coroutine\n"
    assert runs("block_printer")[0].output == "from a block\n"


def test_concurrent_runs_keep_only_their_own_output(capsys):
    barrier = threading.Barrier(4, timeout=20)

    @monitorkit.monitor("chatty")
    def chatty(i: int) -> str:
        barrier.wait()
        print(f"worker {i}")
        run = current_run.get()
        assert run is not None
        return run.record.run_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        run_ids = list(pool.map(chatty, range(4)))
    output = {r.run_id: r.output for r in runs("chatty")}
    assert [output[run_id] for run_id in run_ids] == [f"worker {i}\n" for i in range(4)]
