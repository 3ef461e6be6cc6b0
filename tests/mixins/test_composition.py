"""How the mixins compose: wrapping, one run per call, plain classes, hooks, ids."""

from __future__ import annotations

import inspect
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import BaseCommand

from monitorkit import MonitoredCommand
from monitorkit.mixins import (
    DatabaseReporterMixin,
    FailureCaptureMixin,
    HeartbeatMixin,
    MonitorMixin,
    NameNormalizationMixin,
)
from monitorkit.mixins.base import is_monitored
from monitorkit.models import CommandRun

pytestmark = pytest.mark.django_db(transaction=True)


def runs(**filters: Any) -> list[CommandRun]:
    return list(CommandRun.objects.filter(**filters).order_by("seq"))


class Greet(MonitoredCommand):
    monitor_command_name = "greet"

    def add_arguments(self, parser):
        parser.add_argument("--who", default="world")

    def handle(self, *args: Any, who: str = "world", **options: Any) -> str:
        """Greet someone."""
        return f"hello {who}"


class LoudGreet(Greet):
    def handle(self, *args: Any, **options: Any) -> str:
        return super().handle(*args, **options).upper()


class LouderGreet(LoudGreet):
    def handle(self, *args: Any, **options: Any) -> str:
        return super().handle(*args, **options) + "!"


def test_wrapping_keeps_name_docstring_and_signature():
    assert is_monitored(Greet.__dict__["handle"])
    assert Greet.handle.__name__ == "handle"
    assert Greet.handle.__doc__ == "Greet someone."
    params = inspect.signature(Greet.handle).parameters
    assert list(params) == ["self", "args", "who", "options"]
    assert Greet.handle.__wrapped__.__qualname__ == "Greet.handle"


def test_return_value_passes_through_and_one_run_is_recorded():
    assert call_command(Greet(), who="ann") == "hello ann"
    (run,) = runs()
    assert run.command_id == "greet__who_ann"
    assert run.params == "who=ann"
    assert run.status == "FINISHED"


def test_a_super_handle_chain_is_one_run_per_call():
    assert call_command(LouderGreet()) == "HELLO WORLD!"
    assert call_command(LouderGreet()) == "HELLO WORLD!"
    assert [r.seq for r in runs()] == [1, 2]


def test_a_subclass_without_handle_is_not_wrapped_again():
    class Quiet(Greet):
        pass

    assert "handle" not in Quiet.__dict__
    call_command(Quiet())
    assert len(runs()) == 1


def test_call_command_gives_the_same_id_as_the_command_line():
    call_command("ok_command", label="x", count=2, verbosity=2, stdout=io.StringIO())
    (run,) = runs()
    assert run.command_id == "ok_command__verbosity_2__label_x__count_2"
    assert run.params == "verbosity=2,label=x,count=2"


class Job(NameNormalizationMixin, HeartbeatMixin, FailureCaptureMixin, DatabaseReporterMixin):
    """Not a BaseCommand at all: a plain class with a handle method."""

    def handle(self, batch: int, mode: str = "fast") -> int:
        return batch * 2


class Task(NameNormalizationMixin, FailureCaptureMixin, DatabaseReporterMixin):
    monitor_method_name = "run"

    def run(self, name: str) -> str:
        if name == "bad":
            raise KeyError(name)
        return name


class LegacyWorker:
    def handle(self, n: int) -> int:
        return n + 1


class MonitoredWorker(
    NameNormalizationMixin, FailureCaptureMixin, DatabaseReporterMixin, LegacyWorker
):
    pass


def test_mixins_work_on_a_plain_class():
    assert Job().handle(21, mode="slow") == 42
    (run,) = runs()
    assert run.name == "Job"
    assert run.command_id == "Job__21__mode_slow"
    assert run.params == "21,mode=slow"
    assert run.status == "FINISHED"


def test_mixins_work_on_a_configurable_method_name():
    assert Task().run("ok") == "ok"
    with pytest.raises(KeyError):
        Task().run("bad")
    ok, bad = runs()
    assert ok.status == "FINISHED"
    assert bad.status == "FAILED"
    assert bad.exception_type == "builtins.KeyError"


def test_mixins_wrap_a_method_inherited_from_a_plain_base():
    assert MonitoredWorker().handle(1) == 2
    assert LegacyWorker().handle(1) == 2  # the base class itself is untouched
    assert not is_monitored(LegacyWorker.__dict__["handle"])
    (run,) = runs()
    assert run.name == "MonitoredWorker"


class Doubler:
    """A callable object as a class attribute: it binds no instance, unlike a function."""

    def __call__(self, n: int) -> int:
        return n * 2


class CallableWorker(NameNormalizationMixin, FailureCaptureMixin, DatabaseReporterMixin):
    handle = Doubler()


def test_a_method_that_is_no_plain_function_keeps_how_it_binds():
    import wrapt

    # wrapt wraps what is no plain function, and calls it as it would be called unwrapped.
    assert isinstance(CallableWorker.__dict__["handle"], wrapt.FunctionWrapper)
    assert is_monitored(CallableWorker.__dict__["handle"])
    assert CallableWorker().handle(4) == 8
    assert runs() == []  # no monitored instance reaches it: nothing to record, nothing broken


def test_a_plain_function_is_wrapped_without_wrapt():
    wrapped = Greet.__dict__["handle"]
    assert type(wrapped) is type(test_a_plain_function_is_wrapped_without_wrapt)
    assert MonitoredCommand.__dict__["execute"].__wrapped__ is BaseCommand.execute
    assert Greet().handle(who="x") == "hello x"  # bound as a method: self is passed once
    assert Greet.handle(Greet(), who="y") == "hello y"  # called through the class
    assert [r.params for r in runs()] == ["who=x", "who=y"]


class Import(MonitoredCommand):
    monitor_command_name = "import"
    monitor_command_id = "nightly_import"
    monitor_extra_metadata = {"team": "data"}

    def add_arguments(self, parser):
        parser.add_argument("--date")

    def handle(self, *args: Any, **options: Any) -> None:
        self.rows = 17

    def get_monitor_metadata(self, **metadata: Any) -> dict[str, Any]:
        metadata.setdefault("rows", getattr(self, "rows", None))
        metadata.setdefault("source.file", "s3://bucket/x.csv")
        return super().get_monitor_metadata(**metadata)


def test_a_fixed_id_groups_runs_and_the_metadata_hook_adds_fields():
    call_command(Import(), date="2024-01-01")
    call_command(Import(), date="2024-01-02")
    first, second = runs()
    assert first.command_id == second.command_id == "nightly_import"
    assert first.params == "date=2024-01-01"
    assert second.params == "date=2024-01-02"
    # The hook runs at the start and again at the end (so rows counted by handle show).
    assert first.metadata == {"rows": 17, "source_file": "s3://bucket/x.csv", "team": "data"}


def test_id_hook_can_be_overridden():
    class ByDay(Import):
        def get_monitor_command_id(self, name, options, args):
            return f"{name}-by-day"

    call_command(ByDay(), date="2024-01-03")
    assert runs()[0].command_id == "import-by-day"


def test_no_mixin_shadows_a_name_that_django_calls():
    django_names = set(dir(BaseCommand))
    allowed = {"create_parser"}  # extended on purpose (adds --disable_monitor), calls super()
    for mixin in MonitoredCommand.__mro__:
        if not issubclass(mixin, MonitorMixin):
            continue
        own = {n for n, v in vars(mixin).items() if not n.startswith("__") and not is_monitored(v)}
        assert own & django_names <= allowed, mixin
        for name in own - allowed:
            assert name.startswith(("monitor_", "get_monitor_", "_monitor", "_")), name


class Deep(MonitoredCommand):
    monitor_command_name = "deep"

    def handle(self, *args: Any, **options: Any) -> None:
        def recurse(n: int) -> None:
            if n == 0:
                raise RuntimeError("bottom reached")
            recurse(n - 1)

        recurse(200)


def test_traceback_is_bounded_and_keeps_its_end(settings):
    settings.MONITORKIT_TRACEBACK_LIMIT = 500
    with pytest.raises(RuntimeError):
        call_command(Deep())
    (run,) = runs()
    assert len(run.traceback) == 500
    assert run.traceback.endswith("RuntimeError: bottom reached\n")


def test_an_unimportable_extra_reporter_costs_only_itself(settings, caplog):
    settings.MONITORKIT_REPORTERS = ["no.such.module.Reporter"]
    assert call_command(Greet()) == "hello world"
    assert len(runs()) == 1  # the database still got the run
    assert "MONITORKIT_REPORTERS entry 'no.such.module.Reporter' skipped" in caplog.text


def test_a_user_chosen_id_is_made_a_valid_key():
    class Dotted(Greet):
        def get_monitor_command_id(self, name, options, args):
            return "reports/2024.01"

    call_command(Dotted())
    assert runs()[0].command_id == "reports_2024_01"


class BrokenStartHook(Greet):
    def monitor_run_started(self, run: Any) -> None:
        super().monitor_run_started(run)
        raise RuntimeError("hook bug")


def test_a_failing_run_started_hook_still_closes_the_run(caplog):
    from django.db import connection

    assert call_command(BrokenStartHook()) == "hello world"
    (run,) = runs()
    assert run.status == "FINISHED"  # not left STARTED forever
    assert connection.execute_wrappers == []  # what the run took on the connection is given back
    assert "a run-started hook of BrokenStartHook failed" in caplog.text


class BadHook(Greet):
    def get_monitor_metadata(self, **metadata: Any) -> dict[str, Any]:
        raise ZeroDivisionError("user bug")


def test_a_failing_metadata_hook_costs_its_fields_not_the_run(caplog):
    assert call_command(BadHook()) == "hello world"
    (run,) = runs()
    assert run.status == "FINISHED"
    assert run.metadata == {}
    assert "get_monitor_metadata() of BadHook failed" in caplog.text
