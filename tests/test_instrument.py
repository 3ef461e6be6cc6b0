"""``MONITORKIT_AUTO`` in-process: which commands are adopted, how, and what stays as it was.

The real ``manage.py`` side (Django's own commands, exit codes, output, signals) is in
``tests/test_instrument_processes.py``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import wrapt
from django.apps import apps
from django.core.management import call_command, load_command_class
from django.core.management.base import BaseCommand
from django.db import connection

from monitorkit import MonitoredCommand, instrument
from monitorkit.command import MonitoredCommandMixin
from monitorkit.conf import DEFAULT_AUTO_EXCLUDE, monitor_settings
from monitorkit.mixins import MonitorMixin
from monitorkit.models import CommandRun
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.stores.base import ReporterError
from monitorkit.stores.database.runs import DatabaseReporter

pytestmark = pytest.mark.django_db(transaction=True)

ORIGINAL_CREATE_PARSER = BaseCommand.__dict__["create_parser"]


@pytest.fixture
def auto(settings) -> Iterator[None]:
    """Auto mode on, as ``ready()`` puts it in place; the hook taken off again afterwards."""
    settings.MONITORKIT_AUTO = True
    instrument.install()
    yield
    instrument.uninstall()


def clearsessions() -> BaseCommand:
    """Return a new instance of Django's own ``clearsessions`` command."""
    return load_command_class("django.contrib.sessions", "clearsessions")


def records() -> list[tuple[str, str]]:
    return [(r.command_id, r.status) for r in CommandRun.objects.order_by("seq")]


class Echo(BaseCommand):
    """Return the names of the options it was given."""

    def handle(self, *args: Any, **options: Any) -> str:
        return ",".join(sorted(options))


class Noop(MonitoredCommand):
    monitor_command_name = "noop"

    def handle(self, *args: Any, **options: Any) -> str:
        return "done"


# Selection -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "include", "exclude", "selected"),
    [
        ("check", ["*"], [], True),
        ("check", ["*"], ["check"], False),
        ("import_users", ["import_*"], [], True),
        ("export_users", ["import_*"], [], False),
        ("import_users", ["import_*"], ["*_users"], False),  # the exclusion wins
        ("import_users", ["import_users"], ["import_*"], False),  # even over an exact name
        ("Check", ["check"], [], False),  # command names are case-sensitive
        ("check", [], [], False),  # nothing included: nothing monitored
    ],
)
def test_selection(name, include, exclude, selected):
    assert instrument.is_selected(name, include, exclude) is selected


def test_defaults_monitor_everything_but_the_development_commands():
    assert monitor_settings.auto is False
    include, exclude = monitor_settings.auto_include, monitor_settings.auto_exclude
    assert include == ("*",)
    assert exclude == DEFAULT_AUTO_EXCLUDE
    excluded = ("runserver", "shell", "dbshell", "test", "makemigrations", "createsuperuser")
    excluded += ("check", "diffsettings", "showmigrations", "sqlmigrate", "inspectdb")
    for name in excluded:
        assert not instrument.is_selected(name, include, exclude), name
    for name in ("migrate", "dumpdata", "clearsessions", "collectstatic", "import_users"):
        assert instrument.is_selected(name, include, exclude), name


# The hook ----------------------------------------------------------------------------------------


def test_install_and_uninstall_are_idempotent():
    assert not instrument.is_installed()
    instrument.install()
    instrument.install()
    try:
        hook = BaseCommand.__dict__["create_parser"]
        assert isinstance(hook, wrapt.FunctionWrapper)
        assert hook.__wrapped__ is ORIGINAL_CREATE_PARSER  # one layer, not two
    finally:
        instrument.uninstall()
    instrument.uninstall()
    assert BaseCommand.__dict__["create_parser"] is ORIGINAL_CREATE_PARSER


@pytest.mark.parametrize("on", [True, False])
def test_ready_installs_the_hook_only_when_auto_mode_is_on(settings, on):
    settings.MONITORKIT_AUTO = on
    try:
        apps.get_app_config("monitorkit").ready()
        assert instrument.is_installed() is on
    finally:
        instrument.uninstall()


# Adoption ----------------------------------------------------------------------------------------


def test_djangos_own_command_is_monitored(auto):
    command = clearsessions()
    original = type(command)
    call_command(command)
    assert records() == [("clearsessions", "FINISHED")]
    assert type(command).__mro__[1] is MonitoredCommandMixin
    assert isinstance(command, original)
    assert isinstance(command, MonitoredCommandMixin)


def test_the_generated_class_reads_as_the_original():
    original = type(clearsessions())
    made = instrument.monitored_class(original)
    assert made is instrument.monitored_class(original)  # made once per class
    assert made.__name__ == original.__name__ == "Command"
    assert made.__qualname__ == original.__qualname__
    assert (
        made.__module__
        == original.__module__
        == "django.contrib.sessions.management.commands.clearsessions"
    )
    assert made.__doc__ == original.__doc__
    assert issubclass(made, original)
    assert issubclass(made, MonitorMixin)
    assert made.help == original.help


def test_auto_mode_switched_off_at_run_time_leaves_the_command_alone(auto, settings):
    settings.MONITORKIT_AUTO = False
    command = clearsessions()
    original = type(command)
    call_command(command)
    assert type(command) is original
    assert records() == []


def test_an_excluded_command_is_untouched(auto, settings):
    settings.MONITORKIT_AUTO_EXCLUDE = ["clearsessions"]
    command = clearsessions()
    original = type(command)
    parser = command.create_parser("manage.py", "clearsessions")
    call_command(command)
    assert type(command) is original
    assert "--disable_monitor" not in parser._option_string_actions
    assert records() == []


def test_only_included_commands_are_monitored(auto, settings):
    settings.MONITORKIT_AUTO_INCLUDE = ["migrate"]
    call_command(clearsessions())
    call_command("migrate", stdout=io.StringIO(), stderr=io.StringIO())
    assert records() == [("migrate", "FINISHED")]


def test_a_monitored_command_is_not_monitored_twice(auto, caplog):
    command = Noop()
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        assert call_command(command) == "done"
    assert type(command) is Noop
    assert records() == [("noop", "FINISHED")]
    assert caplog.records == []  # left alone on purpose, not after a failed adoption


def test_disable_monitor_on_an_auto_monitored_command(auto):
    call_command(clearsessions(), disable_monitor=True)
    assert records() == []
    parser = clearsessions().create_parser("manage.py", "clearsessions")
    assert "--disable_monitor" in parser.format_help()


def test_the_options_handle_gets_are_unchanged(auto, settings):
    settings.MONITORKIT_AUTO = False
    plain = call_command(Echo())
    settings.MONITORKIT_AUTO = True
    monitored_command = Echo()
    monitored = call_command(monitored_command)
    assert isinstance(monitored_command, MonitorMixin)
    assert monitored == plain  # no disable_monitor key unless it is given
    assert "disable_monitor" not in monitored.split(",")
    assert records() == [("Echo", "FINISHED")]


def test_a_command_with_its_own_disable_monitor_option_still_runs(auto):
    class OwnOption(BaseCommand):
        def add_arguments(self, parser):
            parser.add_argument("--disable_monitor", type=int, default=None)

        def handle(self, *args: Any, **options: Any) -> str:
            return f"own {options['disable_monitor']}"

    assert call_command(OwnOption(), disable_monitor=0) == "own 0"
    assert len(records()) == 1


def test_a_create_parser_override_runs_once(auto):
    calls = []

    class Custom(BaseCommand):
        def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
            calls.append(subcommand)
            parser = super().create_parser(prog_name, subcommand, **kwargs)
            parser.add_argument("--extra", default="")
            return parser

        def handle(self, *args: Any, **options: Any) -> str:
            return f"extra={options['extra']}"

    command = Custom()
    assert call_command(command, extra="x") == "extra=x"
    assert calls == ["test_instrument"]
    assert isinstance(command, MonitorMixin)
    assert len(records()) == 1


def test_a_class_that_cannot_be_adopted_runs_unmonitored(auto, caplog):
    class Sealed(BaseCommand):
        def __init_subclass__(cls, **kwargs: Any) -> None:
            raise TypeError("Sealed may not be subclassed")

        def handle(self, *args: Any, **options: Any) -> str:
            return "sealed ran"

    command = Sealed()
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        assert call_command(command) == "sealed ran"
    assert type(command) is Sealed
    assert records() == []
    (warning,) = [r for r in caplog.records if "unmonitored" in r.getMessage()]
    assert "Sealed may not be subclassed" in warning.getMessage()


# migrate on a fresh database -------------------------------------------------------------------


@pytest.fixture
def store_missing() -> Iterator[None]:
    """The store's table is not there, as before ``migrate`` creates it; put back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE monitorkit_commandrun RENAME TO monitorkit_commandrun_away")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE monitorkit_commandrun_away RENAME TO monitorkit_commandrun")


def test_before_the_store_exists_no_write_of_a_run_is_tried_or_retried(store_missing, caplog):
    """Before ``migrate`` the store is not installed there: the run is not recorded at all.

    Not spooled either (docs/auto.md, "Commands run before migrate"): nothing says this
    database will ever be migrated, and a later run could deliver it into another one.
    """
    reporter = DatabaseReporter(monitor_settings)
    record = RunRecord(
        id="migrate", name="migrate", params="", run_id="r1", host="h", pid=1, started=utcnow()
    )
    with caplog.at_level(logging.DEBUG, logger="monitorkit"):
        reporter.write(record)  # skipped: a start
        reporter.write(record)
        record.status, record.finished, record.exit_code = Status.FINISHED, utcnow(), 0
        reporter.write(record)  # dropped at once: no retry until the deadline, no raise
    said = [r for r in caplog.records if r.name == "monitorkit"]
    assert [r.levelno for r in said] == [logging.INFO], said
    with pytest.raises(ReporterError, match="no table for runs"):
        reporter.deliver_spooled(record, {})  # a spooled record waits for the table
