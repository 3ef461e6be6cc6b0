"""``MONITORKIT_OUTPUT_TAIL_EXCLUDE``: commands that print settings or data keep no output tail."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit import MonitoredCommand, conf
from monitorkit.checks import check_settings
from monitorkit.conf import ALWAYS_OUTPUT_TAIL_EXCLUDE, monitor_settings
from monitorkit.models import CommandRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_warnings():
    conf._warned.clear()
    yield
    conf._warned.clear()


def printer(name: str) -> MonitoredCommand:
    class Printer(MonitoredCommand):
        monitor_command_name = name

        def handle(self, *args: Any, **options: Any) -> None:
            self.stdout.write("user 42: alice@example.com")

    return Printer()


def test_a_command_of_the_fixed_list_keeps_no_output():
    assert "dumpdata" in ALWAYS_OUTPUT_TAIL_EXCLUDE
    call_command(printer("dumpdata"), stdout=io.StringIO())
    (run,) = CommandRun.objects.all()
    assert run.status == "FINISHED" and not run.output


def test_the_setting_adds_commands_and_patterns(settings):
    settings.MONITORKIT_OUTPUT_TAIL_EXCLUDE = ["export_*"]
    out = io.StringIO()
    call_command(printer("export_users"), stdout=out)
    call_command(printer("import_users"), stdout=io.StringIO())
    assert out.getvalue() == "user 42: alice@example.com\n"  # the command's output unchanged
    runs = {run.command_id: run.output for run in CommandRun.objects.all()}
    assert not runs["export_users"]
    assert runs["import_users"] == "user 42: alice@example.com\n"
    assert monitor_settings.output_tail_exclude == (*ALWAYS_OUTPUT_TAIL_EXCLUDE, "export_*")


@pytest.mark.parametrize("value", ["export_users", [1], {"a": 1}])
def test_a_bad_value_is_a_warning_and_only_the_fixed_list_applies(settings, value):
    settings.MONITORKIT_OUTPUT_TAIL_EXCLUDE = value
    assert [m.id for m in check_settings()] == ["monitorkit.W028"]
    assert set(ALWAYS_OUTPUT_TAIL_EXCLUDE) <= set(monitor_settings.output_tail_exclude)
