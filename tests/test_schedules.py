"""Expectations (``health/schedules.py``): schedule math, declarations and their problems.

Times are written in UTC (``utc(...)``) or in a zone's wall time (``local(...)``) so each DST
case says what a person in that zone expects. The clock is frozen with freezegun where the test
is about "now"; the math itself takes its times as arguments.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import sys
import textwrap
from zoneinfo import ZoneInfo

import django.core.management
import pytest
from freezegun import freeze_time

from monitorkit.health import schedules
from monitorkit.health.schedules import DEFAULT_START_MARGIN, Expectation
from monitorkit.record import utcnow

UTC = dt.timezone.utc
PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> dt.datetime:
    """A wall time in ``zone``, in UTC (``fold=1``: the second of a repeated hour)."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def starts(expectation: Expectation, after: dt.datetime, count: int) -> list[dt.datetime]:
    found = []
    for _ in range(count):
        after = expectation.next_expected(after)
        found.append(after)
    return found


@pytest.fixture(autouse=True)
def empty_registry(monkeypatch):
    """Each test starts with no expectation declared by another."""
    monkeypatch.setattr(schedules, "_declarations", {})


# --- cron and interval math --------------------------------------------------------------


def test_cron_next_start_is_strictly_after():
    """A run at exactly 03:00 is the 03:00 start: the next one is tomorrow's."""
    nightly = Expectation("nightly", "0 3 * * *", timezone="UTC")
    assert nightly.next_expected(utc(2026, 5, 1, 1, 0)) == utc(2026, 5, 1, 3, 0)
    assert nightly.next_expected(utc(2026, 5, 1, 3, 0)) == utc(2026, 5, 2, 3, 0)
    assert nightly.next_expected(utc(2026, 5, 1, 2, 59, 59, 999999)) == utc(2026, 5, 1, 3, 0)


def test_interval_in_seconds_or_timedelta():
    """An interval counts from the given time; int, float and timedelta mean the same."""
    after = utc(2026, 5, 1, 12, 0)
    for value in (90, 90.0, dt.timedelta(seconds=90)):
        assert Expectation("x", value).next_expected(after) == utc(2026, 5, 1, 12, 1, 30)


def test_cron_nicknames_and_case():
    assert Expectation("x", "@daily", timezone="UTC").schedule == "0 0 * * *"
    weekly = Expectation("x", "0 6 * * mon", timezone="UTC")
    assert weekly.next_expected(utc(2026, 5, 1)) == utc(2026, 5, 4, 6, 0)  # 1 May 2026: Friday


def test_naive_times_mean_utc():
    """Like ``record.py``, a naive time is UTC, not the host's local time."""
    nightly = Expectation("nightly", "0 3 * * *", timezone="UTC")
    assert nightly.next_expected(dt.datetime(2026, 5, 1, 1, 0)) == utc(2026, 5, 1, 3, 0)


def test_no_schedule_expects_nothing():
    assert (
        Expectation("x", max_runtime=dt.timedelta(hours=1)).next_expected(utc(2026, 1, 1)) is None
    )


def test_cron_in_a_non_utc_zone():
    """03:00 in Paris is 02:00 UTC in winter and 01:00 UTC in summer."""
    nightly = Expectation("nightly", "0 3 * * *", timezone=PARIS)
    assert nightly.next_expected(utc(2026, 1, 10)) == utc(2026, 1, 10, 2, 0)
    assert nightly.next_expected(utc(2026, 7, 10)) == utc(2026, 7, 10, 1, 0)
    tokyo = Expectation("nightly", "0 3 * * *", timezone="Asia/Tokyo")
    assert tokyo.next_expected(utc(2026, 1, 10)) == utc(2026, 1, 10, 18, 0)


def test_time_zone_defaults_to_time_zone_setting_read_when_used(settings):
    """Without ``timezone``, cron is read in ``TIME_ZONE`` as it is at the time of use."""
    nightly = Expectation("nightly", "0 3 * * *")
    assert nightly.next_expected(utc(2026, 1, 10)) == utc(2026, 1, 10, 3, 0)
    settings.TIME_ZONE = NEW_YORK
    assert nightly.next_expected(utc(2026, 1, 10)) == utc(2026, 1, 10, 8, 0)


# --- DST, both ways, two zones -----------------------------------------------------------


def test_paris_spring_forward_runs_the_skipped_start_when_the_hour_resumes():
    """29 March 2026: 02:00 jumps to 03:00, so 02:30 does not exist; cron runs it at 03:00."""
    job = Expectation("job", "30 2 * * *", timezone=PARIS)
    assert starts(job, utc(2026, 3, 27, 12), 3) == [
        local(PARIS, 2026, 3, 28, 2, 30),
        local(PARIS, 2026, 3, 29, 3, 0),
        local(PARIS, 2026, 3, 30, 2, 30),
    ]
    assert local(PARIS, 2026, 3, 29, 3, 0) == utc(2026, 3, 29, 1, 0)


def test_paris_fall_back_runs_a_repeated_start_once():
    """25 October 2026: 02:30 happens twice (CEST then CET); the job runs at the first only."""
    job = Expectation("job", "30 2 * * *", timezone=PARIS)
    first = local(PARIS, 2026, 10, 25, 2, 30)
    assert first == utc(2026, 10, 25, 0, 30)
    assert starts(job, utc(2026, 10, 24, 12), 2) == [first, local(PARIS, 2026, 10, 26, 2, 30)]


def test_paris_fall_back_from_inside_the_second_hour_never_goes_back():
    """From 02:20 the second time, wall-time cron would say 02:30, which is 50 minutes ago."""
    job = Expectation("job", "30 2 * * *", timezone=PARIS)
    after = local(PARIS, 2026, 10, 25, 2, 20, fold=1)
    assert job.next_expected(after) == local(PARIS, 2026, 10, 26, 2, 30)


def test_paris_hourly_counts_real_hours_across_both_changes():
    """An hourly job runs every real hour: 23 starts on 29 March, 25 on 25 October."""
    hourly = Expectation("hourly", "0 * * * *", timezone=PARIS)

    def count(day_start: dt.datetime, day_end: dt.datetime) -> int:
        found, after = 0, day_start - dt.timedelta(seconds=1)
        while (after := hourly.next_expected(after)) < day_end:
            found += 1
        return found

    assert count(local(PARIS, 2026, 3, 29, 0, 0), local(PARIS, 2026, 3, 30, 0, 0)) == 23
    assert count(local(PARIS, 2026, 10, 25, 0, 0), local(PARIS, 2026, 10, 26, 0, 0)) == 25


def test_new_york_both_changes():
    """8 March 2026 skips 02:00-03:00; 1 November 2026 repeats 01:00-02:00."""
    spring = Expectation("job", "30 2 * * *", timezone=NEW_YORK)
    assert starts(spring, utc(2026, 3, 7, 12), 2) == [
        local(NEW_YORK, 2026, 3, 8, 3, 0),
        local(NEW_YORK, 2026, 3, 9, 2, 30),
    ]
    fall = Expectation("job", "30 1 * * *", timezone=NEW_YORK)
    assert starts(fall, utc(2026, 10, 31, 12), 2) == [
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, the first 01:30
        utc(2026, 11, 2, 6, 30),  # 01:30 EST the next day
    ]


def test_an_interval_ignores_dst():
    """An interval is elapsed time: 24 hours stay 24 hours across the change."""
    daily = Expectation("daily", dt.timedelta(days=1), timezone=PARIS)
    assert daily.next_expected(utc(2026, 3, 28, 1, 30)) == utc(2026, 3, 29, 1, 30)


# --- early starts and missed stretches ---------------------------------------------------


def test_a_run_that_starts_a_little_early_counts_for_the_start_it_was_meant_for():
    """02:59:58 is the 03:00 run started under clock skew; the next expected is tomorrow."""
    nightly = Expectation("nightly", "0 3 * * *", timezone="UTC")
    assert nightly.due_after(utc(2026, 5, 1, 2, 59, 58)) == utc(2026, 5, 2, 3, 0)
    assert nightly.due_after(utc(2026, 5, 1, 3, 0, 1)) == utc(2026, 5, 2, 3, 0)
    assert nightly.due_after(utc(2026, 5, 1, 2, 50)) == utc(2026, 5, 1, 3, 0)  # a manual run


def test_early_tolerance_is_at_most_half_the_period():
    """For an every-minute job the run at 03:00:00 must not be taken for the 03:01 run."""
    every_minute = Expectation("tick", "* * * * *", timezone="UTC")
    assert every_minute.due_after(utc(2026, 5, 1, 3, 0, 0)) == utc(2026, 5, 1, 3, 1)
    assert every_minute.due_after(utc(2026, 5, 1, 3, 0, 58)) == utc(2026, 5, 1, 3, 2)
    interval = Expectation("tick", 60)
    assert interval.due_after(utc(2026, 5, 1, 3, 0, 0)) == utc(2026, 5, 1, 3, 1)


def test_last_start_over_a_long_gap():
    """A watcher down for a month finds the latest start of an every-minute job at once."""
    every_minute = Expectation("tick", "* * * * *", timezone=PARIS)
    got = every_minute.last_start(utc(2026, 3, 1, 0, 1), utc(2026, 4, 2, 12, 30, 30))
    assert got == utc(2026, 4, 2, 12, 30)
    nightly = Expectation("nightly", "0 3 * * *", timezone="UTC")
    assert nightly.last_start(utc(2026, 5, 1, 3), utc(2026, 5, 1, 3)) == utc(2026, 5, 1, 3)
    assert nightly.last_start(utc(2026, 5, 1, 3), utc(2026, 5, 9, 2)) == utc(2026, 5, 8, 3)
    hourly = Expectation("hourly", 3600)
    assert hourly.last_start(utc(2026, 5, 1, 3), utc(2026, 5, 1, 7, 59)) == utc(2026, 5, 1, 7)


def test_default_start_margin():
    assert Expectation("x", "0 3 * * *").start_margin == dt.timedelta(minutes=5)


def test_frozen_clock_walks_through_a_night():
    """With the clock frozen at 02:00 Paris time, the next run is an hour away, at 01:00 UTC."""
    nightly = Expectation("nightly", "0 3 * * *", timezone=PARIS)
    with freeze_time("2026-07-10 00:00:00") as clock:
        assert nightly.next_expected(utcnow()) - utcnow() == dt.timedelta(hours=1)
        clock.tick(dt.timedelta(hours=1))
        assert nightly.next_expected(utcnow()) == utc(2026, 7, 11, 1, 0)


# --- building an expectation -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"schedule": "61 * * * *"},
        {"schedule": "every day"},
        {"schedule": 0},
        {"schedule": True},
        {"timezone": "Mars/Olympus"},
        {"start_margin": dt.timedelta(seconds=-1)},
        {"max_runtime": dt.timedelta(0)},
        {"alert_after": 0},
    ],
)
def test_a_bad_value_in_code_raises_at_once(kwargs):
    """Built directly (the decorator of a later issue), a bad value is a programming error."""
    with pytest.raises(ValueError, match="'job'"):
        Expectation("job", **kwargs)


def from_class(cls: type, command_id: str) -> schedules.Expectation:
    """What discover() makes of a command class's attributes."""
    source = f"{cls.__module__}.{cls.__qualname__}"
    return schedules.expectation_from_values(command_id, schedules.class_values(cls), source)


def test_class_values_read_the_monitor_attributes_as_discover_does():
    class Base:
        monitor_schedule = "0 3 * * *"
        monitor_timezone = PARIS

    class Nightly(Base):
        monitor_start_margin = 600
        monitor_max_runtime = dt.timedelta(hours=2)
        monitor_alert_after = 3
        monitor_notify_recovery = False
        monitor_muted = True

    got = from_class(Nightly, "nightly")
    assert got == Expectation(
        "nightly",
        "0 3 * * *",
        timezone=PARIS,
        start_margin=dt.timedelta(minutes=10),
        max_runtime=dt.timedelta(hours=2),
        alert_after=3,
        notify_recovery=False,
        muted=True,
        source=f"{__name__}.{Nightly.__qualname__}",
    )
    assert schedules.class_values(type("Plain", (), {})) == {}  # declares nothing: skipped


def test_a_bad_class_value_falls_back_to_its_default():
    class Odd:
        monitor_schedule = "0 3 * * *"
        monitor_start_margin = "five minutes"

    got = from_class(Odd, "odd")
    assert got is not None and got.start_margin == DEFAULT_START_MARGIN


def test_the_setting_overrides_the_class_key_by_key():
    class Nightly:
        monitor_schedule = "0 3 * * *"
        monitor_max_runtime = 3600

    base = from_class(Nightly, "nightly")
    got = schedules.expectation_from_setting("nightly", {"schedule": "0 4 * * *"}, base)
    assert got.schedule == "0 4 * * *"
    assert got.max_runtime == dt.timedelta(hours=1)
    assert got.source.startswith("MONITORKIT_SCHEDULES['nightly'] over ")
    off = schedules.expectation_from_setting("nightly", {"schedule": None}, base)
    assert off.schedule is None, "None in the setting turns a class's schedule off"


# --- discovery -----------------------------------------------------------------------------


@pytest.fixture
def command_app(tmp_path, monkeypatch):
    """A real app on disk with a scheduled command, a plain one and one that cannot import."""
    commands = tmp_path / "schedapp" / "management" / "commands"
    commands.mkdir(parents=True)
    for package in (commands.parent.parent, commands.parent, commands):
        (package / "__init__.py").write_text("")
    sources = {
        "nightly_import": """
            from django.core.management.base import BaseCommand

            class Command(BaseCommand):
                monitor_schedule = "0 3 * * *"
                monitor_timezone = "Europe/Paris"
                monitor_max_runtime = 3600
        """,
        "fixed_id": """
            from django.core.management.base import BaseCommand

            class Command(BaseCommand):
                monitor_command_id = "import.daily"
                monitor_schedule = 86400
        """,
        "unscheduled": """
            from django.core.management.base import BaseCommand

            class Command(BaseCommand):
                pass
        """,
        "broken": """
            raise RuntimeError("token=hunter2")
        """,
        "bad_values": """
            from django.core.management.base import BaseCommand

            class Command(BaseCommand):
                monitor_schedule = "0 25 * * *"
        """,
    }
    for name, source in sources.items():
        (commands / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    real = django.core.management.get_commands()
    monkeypatch.setattr(
        django.core.management,
        "get_commands",
        lambda: {**real, **dict.fromkeys(sources, "schedapp")},
    )
    forget_app()
    yield sources
    forget_app()


def forget_app() -> None:
    """Drop the app's modules, so each test imports its own files (tmp_path differs)."""
    for name in [name for name in sys.modules if name.split(".")[0] == "schedapp"]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_discover_finds_class_declarations_without_any_run(command_app, caplog):
    """Every declaring command is found; a broken one costs only itself, logged without text."""
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        found = schedules.discover()
    assert found["nightly_import"].schedule == "0 3 * * *"
    assert found["nightly_import"].timezone == PARIS
    assert found["nightly_import"].max_runtime == dt.timedelta(hours=1)
    assert found["import_daily"].schedule == dt.timedelta(days=1), "monitor_command_id, sanitized"
    assert found["bad_values"].schedule is None
    assert "unscheduled" not in found and "ok_command" not in found
    assert "broken" in caplog.text and "RuntimeError" in caplog.text
    assert "hunter2" not in caplog.text


def test_discover_merges_registry_and_setting(command_app, settings):
    schedules.declare("nightly", {"schedule": "0 1 * * *"}, "tasks.nightly")
    settings.MONITORKIT_SCHEDULES = {
        "nightly_import": {"timezone": "UTC", "muted": True},
        "nightly": {"alert_after": 2},
        "vendor.sync": {"schedule": "*/15 * * * *"},
    }
    found = schedules.discover()
    assert found["nightly_import"].schedule == "0 3 * * *", "kept from the class"
    assert found["nightly_import"].timezone == "UTC" and found["nightly_import"].muted
    assert found["nightly"].schedule == "0 1 * * *" and found["nightly"].alert_after == 2
    assert found["vendor_sync"].schedule == "*/15 * * * *", "setting keys are ids, sanitized"


def test_settings_are_read_when_used(settings):
    assert "later" not in schedules.discover()
    settings.MONITORKIT_SCHEDULES = {"later": {"schedule": 60}}
    assert "later" in schedules.discover()


# --- problems -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, check_id, words",
    [
        ({"schedule": "0 3 * *"}, "monitorkit.W103", "is not a cron expression"),
        ({"schedule": -5}, "monitorkit.W103", "positive interval"),
        ({"schedule": ["0 3 * * *"]}, "monitorkit.W103", "seconds or a timedelta"),
        ({"timezone": "Europe/Pariss"}, "monitorkit.W104", "not a known time zone"),
        ({"timezone": 1}, "monitorkit.W104", "time zone name"),
        ({"start_margin": -1}, "monitorkit.W105", "negative"),
        ({"start_margin": "5m"}, "monitorkit.W105", "number of seconds"),
        ({"max_runtime": 0}, "monitorkit.W106", "more than zero"),
        ({"max_runtime": float("nan")}, "monitorkit.W106", "number of seconds"),
        ({"alert_after": 1.5}, "monitorkit.W107", "whole number"),
        ({"notify_recovery": "yes"}, "monitorkit.W108", "True or False"),
        ({"muted": 1}, "monitorkit.W108", "True or False"),
        ({"scheduel": "0 3 * * *"}, "monitorkit.W102", "unknown key 'scheduel'"),
    ],
)
def test_each_bad_setting_value_is_one_warning_naming_the_command(
    settings, values, check_id, words
):
    settings.MONITORKIT_SCHEDULES = {"nightly": {"schedule": "0 3 * * *", **values}}
    found = schedules.problems()
    assert [p.id for p in found] == [check_id]
    assert words in found[0].msg and "'nightly'" in found[0].msg
    assert found[0].hint
    assert "nightly" in schedules.discover(), "the good keys still count"


def test_a_setting_of_the_wrong_shape(settings):
    settings.MONITORKIT_SCHEDULES = ["nightly"]
    assert [p.id for p in schedules.problems()] == ["monitorkit.W101"]
    settings.MONITORKIT_SCHEDULES = {"nightly": "0 3 * * *", "ok": {"schedule": 60}}
    assert [p.id for p in schedules.problems()] == ["monitorkit.W101"]
    assert "ok" in schedules.discover()
    assert "nightly" not in schedules.discover()


def test_class_problems_and_duplicate_ids(command_app, tmp_path):
    """A bad class value and two classes claiming one id are warned about too."""
    commands = tmp_path / "schedapp" / "management" / "commands"
    (commands / "unscheduled.py").write_text(
        "from django.core.management.base import BaseCommand\n\n"
        "class Command(BaseCommand):\n"
        "    monitor_command_id = 'import.daily'\n"
        "    monitor_schedule = 60\n"
    )
    found = {p.id: p.msg for p in schedules.problems()}
    assert set(found) == {"monitorkit.W103", "monitorkit.W109"}
    assert "'bad_values'" in found["monitorkit.W103"]
    assert "'import_daily'" in found["monitorkit.W109"]


def test_no_declarations_no_problems():
    assert schedules.problems() == []
