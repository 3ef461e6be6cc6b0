"""Settings problems: declared once, a warning in ``manage.py check``, the default meanwhile.

A monitoring setting only ever warns: every message here must be a ``checks.Warning``, and
``call_command("check")`` must not raise, whatever the value.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import sys
import tempfile
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core import checks
from django.core.management import call_command

from monitorkit import MonitoredCommand, conf
from monitorkit.checks import check_settings
from monitorkit.conf import monitor_settings
from monitorkit.models import CommandRun

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


@pytest.fixture(autouse=True)
def fresh_warnings():
    conf._warned.clear()
    yield
    conf._warned.clear()


def ids() -> list[str]:
    return [message.id for message in check_settings()]


def test_good_settings_have_no_problems():
    assert ids() == []


# name, bad value, check id, property, what the property returns meanwhile
BAD = [
    ("FIREBASE_MONITORING_RUN", "maybe", "monitorkit.W002", "run", True),
    ("FIREBASE_MONITORING_RUN", 2, "monitorkit.W002", "run", True),
    ("TESTING", "maybe", "monitorkit.W003", "testing", False),
    ("TESTING", [], "monitorkit.W003", "testing", False),
    ("FIREBASE_MONITORING", "https://x.firebaseio.com", "monitorkit.W004", "firebase", None),
    ("MONITORKIT_DATABASE", "sometimes", "monitorkit.W006", "database", True),
    ("MONITORKIT_DATABASE_ALIAS", "replica", "monitorkit.W007", "database_alias", "default"),
    ("MONITORKIT_DATABASE_ALIAS", 1, "monitorkit.W007", "database_alias", "default"),
    ("MONITORKIT_REPORTERS", "a.B", "monitorkit.W008", "extra_reporters", []),
    ("FIREBASE_MONITORING_INTERVAL_PING", -5, "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", "30", "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", "abc", "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", True, "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", math.inf, "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", math.nan, "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", 1e10, "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", 10**400, "monitorkit.W009", "interval", 30.0),
    ("FIREBASE_MONITORING_INTERVAL_PING", 86_400.5, "monitorkit.W009", "interval", 30.0),
    ("MONITORKIT_STALE_AFTER", 0, "monitorkit.W010", "stale_after", 90.0),
    ("MONITORKIT_STALE_AFTER", math.inf, "monitorkit.W010", "stale_after", 90.0),
    ("MONITORKIT_STALE_AFTER", 1e10, "monitorkit.W010", "stale_after", 90.0),
    ("MONITORKIT_FLUSH_TIMEOUT", 0, "monitorkit.W011", "flush_timeout", 3.0),
    ("MONITORKIT_FLUSH_TIMEOUT", math.inf, "monitorkit.W011", "flush_timeout", 3.0),
    ("MONITORKIT_FLUSH_TIMEOUT", math.nan, "monitorkit.W011", "flush_timeout", 3.0),
    ("MONITORKIT_FLUSH_TIMEOUT", 601, "monitorkit.W011", "flush_timeout", 3.0),
    ("MONITORKIT_HTTP_TIMEOUT", (3, "5"), "monitorkit.W012", "http_timeout", (3.05, 5.0)),
    ("MONITORKIT_HTTP_TIMEOUT", -1, "monitorkit.W012", "http_timeout", (3.05, 5.0)),
    ("MONITORKIT_HTTP_TIMEOUT", math.inf, "monitorkit.W012", "http_timeout", (3.05, 5.0)),
    ("MONITORKIT_HTTP_TIMEOUT", (1, 1e10), "monitorkit.W012", "http_timeout", (3.05, 5.0)),
    ("MONITORKIT_HTTP_TIMEOUT", (1, 2, 3), "monitorkit.W012", "http_timeout", (3.05, 5.0)),
    ("MONITORKIT_RETRY_ATTEMPTS", "abc", "monitorkit.W013", "retry_attempts", 3),
    ("MONITORKIT_RETENTION", 0, "monitorkit.W014", "retention", 100),
    ("MONITORKIT_RETENTION", 2.5, "monitorkit.W014", "retention", 100),
    ("MONITORKIT_RETENTION", 10**30, "monitorkit.W014", "retention", 100),
    ("MONITORKIT_TRACEBACK_LIMIT", -1, "monitorkit.W015", "traceback_limit", 8000),
    ("MONITORKIT_QUEUE_SIZE", "1000", "monitorkit.W016", "queue_size", 1000),
    ("MONITORKIT_SPOOL_DIR", 3, "monitorkit.W017", "spool_dir", None),
    ("MONITORKIT_SPOOL_DIR", "", "monitorkit.W017", "spool_dir", None),
    ("MONITORKIT_SPOOL_DIR", b"/tmp/spool", "monitorkit.W017", "spool_dir", None),
    ("MONITORKIT_SPOOL_MAX_FILES", 0, "monitorkit.W018", "spool_max_files", 1000),
    ("MONITORKIT_SPOOL_MAX_FILES", math.inf, "monitorkit.W018", "spool_max_files", 1000),
    ("MONITORKIT_ALERT_LEASE", -1, "monitorkit.W019", "alert_lease", 300.0),
    ("MONITORKIT_ALERT_RETRY_FOR", 0, "monitorkit.W029", "alert_retry_for", 3600.0),
    ("MONITORKIT_WATCHER_INTERVAL", 0, "monitorkit.W032", "watcher_interval", 60.0),
    ("MONITORKIT_WATCHER_INTERVAL", "60", "monitorkit.W032", "watcher_interval", 60.0),
    ("MONITORKIT_WATCHER_INTERVAL", 86_401, "monitorkit.W032", "watcher_interval", 60.0),
    ("MONITORKIT_WATCHER_PING_URL", 42, "monitorkit.W033", "watcher_ping_url", None),
    ("MONITORKIT_WATCHER_PING_URL", "ftp://x/1", "monitorkit.W033", "watcher_ping_url", None),
    ("MONITORKIT_BADGES_PUBLIC", "maybe", "monitorkit.W034", "badges_public", False),
    ("MONITORKIT_SLOW_FACTOR", 1, "monitorkit.W020", "slow_factor", 1.5),  # not above 1
    ("MONITORKIT_SLOW_FACTOR", 0.5, "monitorkit.W020", "slow_factor", 1.5),
    ("MONITORKIT_SLOW_FACTOR", "2", "monitorkit.W020", "slow_factor", 1.5),
    ("MONITORKIT_SLOW_FACTOR", 1000.5, "monitorkit.W020", "slow_factor", 1.5),
    ("MONITORKIT_SLOW_FACTOR", math.inf, "monitorkit.W020", "slow_factor", 1.5),
    ("MONITORKIT_FAST_FRACTION", 0, "monitorkit.W021", "fast_fraction", 0.1),  # not above 0
    ("MONITORKIT_FAST_FRACTION", 1.5, "monitorkit.W021", "fast_fraction", 0.1),
    ("MONITORKIT_FAST_FRACTION", "0.1", "monitorkit.W021", "fast_fraction", 0.1),
    ("MONITORKIT_FAST_FRACTION", math.nan, "monitorkit.W021", "fast_fraction", 0.1),
]


@pytest.mark.parametrize("name,value,expected,prop,meanwhile", BAD)
def test_each_bad_setting_is_a_warning_with_its_id_and_the_default_is_used(
    settings, name, value, expected, prop, meanwhile
):
    if meanwhile is None:  # a computed default
        (setting,) = [s for s in conf.SETTINGS if s.name == name]
        meanwhile = setting.default()
    setattr(settings, name, value)
    messages = check_settings()
    assert [m.id for m in messages] == [expected]
    (message,) = messages
    assert type(message) is checks.Warning
    assert message.msg.startswith(name)
    assert message.hint
    assert "is used meanwhile" in message.msg
    assert getattr(monitor_settings, prop) == meanwhile


@pytest.mark.parametrize(
    "name,value",
    [
        ("FIREBASE_MONITORING_INTERVAL_PING", 86_400),
        ("FIREBASE_MONITORING_INTERVAL_PING", 0.5),
        ("MONITORKIT_STALE_AFTER", 30 * 86_400),
        ("MONITORKIT_FLUSH_TIMEOUT", 600),
        ("MONITORKIT_HTTP_TIMEOUT", 600),
        ("MONITORKIT_RETENTION", 1_000_000),
        ("MONITORKIT_SPOOL_MAX_FILES", 1),
        ("MONITORKIT_SLOW_FACTOR", 1000),
        ("MONITORKIT_SLOW_FACTOR", 1.01),
        ("MONITORKIT_FAST_FRACTION", 1),
        ("MONITORKIT_FAST_FRACTION", 0.001),
    ],
)
def test_the_bounds_themselves_are_allowed(settings, name, value):
    setattr(settings, name, value)
    assert ids() == []


def test_numbers_in_bounds_are_used(settings):
    settings.FIREBASE_MONITORING_INTERVAL_PING = 2
    settings.MONITORKIT_FLUSH_TIMEOUT = 0.5
    settings.MONITORKIT_RETENTION = 7
    settings.MONITORKIT_SPOOL_MAX_FILES = 50
    assert monitor_settings.interval == 2.0
    assert monitor_settings.stale_after == 6.0  # 3 x the interval when unset
    assert monitor_settings.flush_timeout == 0.5
    assert monitor_settings.retention == 7
    assert monitor_settings.spool_max_files == 50
    assert ids() == []


def test_a_bad_interval_leaves_a_sane_stale_after(settings):
    settings.FIREBASE_MONITORING_INTERVAL_PING = math.inf
    assert monitor_settings.stale_after == 90.0


@pytest.mark.parametrize("value", [5, 2.5, (3.05, 10), [1, 2], (600, 600)])
def test_good_http_timeouts_pass(settings, value):
    settings.MONITORKIT_HTTP_TIMEOUT = value
    assert ids() == []
    connect, read = monitor_settings.http_timeout
    assert 0 < connect <= 600 and 0 < read <= 600


# Booleans: real bools keep their meaning; 0/1 and the words a careful user writes count as
# what they say, with a warning; anything else warns and the default is used.
@pytest.mark.parametrize(
    "value,meant",
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("True", True),
        (" yes ", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("0", False),
        ("", False),
        ("maybe", None),
        (2, None),
        (1.0, None),
        ([], None),
    ],
)
@pytest.mark.parametrize(
    "name,prop,default,check_id",
    [
        ("TESTING", "testing", False, "monitorkit.W003"),
        ("FIREBASE_MONITORING_RUN", "run", True, "monitorkit.W002"),
        ("MONITORKIT_DATABASE", "database", True, "monitorkit.W006"),
    ],
)
def test_booleans(settings, value, meant, name, prop, default, check_id):
    setattr(settings, name, value)
    assert getattr(monitor_settings, prop) is (default if meant is None else meant)
    # MONITORKIT_DATABASE = False leaves nowhere to send (W001), which is not this test's point.
    messages = [m for m in check_settings() if m.id != conf.NOWHERE_TO_SEND]
    if isinstance(value, bool):
        assert messages == []
        return
    (message,) = messages
    assert (message.id, type(message)) == (check_id, checks.Warning)
    if meant is None:
        assert message.msg.endswith("is used meanwhile.")
    else:
        assert message.msg.endswith(f"It is read as {meant}.")


def test_none_counts_as_unset(settings):
    settings.TESTING = None
    settings.FIREBASE_MONITORING_RUN = None
    settings.FIREBASE_MONITORING_INTERVAL_PING = None
    assert ids() == []
    assert monitor_settings.enabled
    assert monitor_settings.interval == 30.0


def test_every_bad_value_at_once_is_only_warnings(settings):
    for name, value, *_ in BAD:
        setattr(settings, name, value)
    messages = check_settings()
    assert messages
    assert all(type(m) is checks.Warning for m in messages)
    assert not any(m.is_serious() for m in messages)
    assert {m.id for m in messages} >= {expected for _, _, expected, *_ in BAD}


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparison")

    __hash__ = object.__hash__


def test_a_value_that_cannot_even_be_shown_is_a_warning(settings):
    settings.TESTING = Unprintable()
    settings.FIREBASE_MONITORING_INTERVAL_PING = Unprintable()
    assert ids() == ["monitorkit.W003", "monitorkit.W009"]
    assert monitor_settings.testing is False
    assert monitor_settings.interval == 30.0


def test_firebase_dict_missing_what_it_needs(settings):
    settings.FIREBASE_MONITORING = {"API_KEY": "k", "AUTH_TOKEN": "s3cret-token"}
    messages = check_settings()
    assert [m.id for m in messages] == ["monitorkit.W004", "monitorkit.W005"]
    assert all("s3cret" not in m.msg + m.hint for m in messages)  # never a credential
    assert monitor_settings.firebase is not None  # kept: the reporter says what fails


@pytest.mark.parametrize("key", ["", "//", 3, "a.b", "monitoring/x$y"])
def test_a_bad_firebase_key_is_a_warning(settings, key):
    settings.FIREBASE_MONITORING = {"NAME": "db"}
    settings.FIREBASE_MONITORING_KEY = key
    assert ids() == ["monitorkit.W005"]


def test_a_firebase_key_without_firebase_is_not_judged(settings):
    settings.FIREBASE_MONITORING_KEY = ""
    assert ids() == []


def test_good_firebase_key_with_slashes(settings):
    settings.FIREBASE_MONITORING = {"NAME": "db"}
    settings.FIREBASE_MONITORING_KEY = "monitoring/monitor-myapp"
    assert ids() == []
    assert monitor_settings.firebase_key == "monitoring/monitor-myapp"


def test_reporters_that_cannot_be_imported(settings, tmp_path, monkeypatch):
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MONITORKIT_REPORTERS = ["no.such.Reporter", "explodes_on_import.Reporter", 3]
    (message,) = check_settings()
    assert message.id == "monitorkit.W008"
    assert "'no.such.Reporter'" in message.msg
    assert "RuntimeError: at import" in message.msg
    assert "holds 3" in message.msg
    assert monitor_settings.extra_reporters == ["no.such.Reporter", "explodes_on_import.Reporter"]


def test_retry_attempts_is_deprecated_but_still_read(settings):
    assert monitor_settings.retry_attempts == 3
    settings.MONITORKIT_RETRY_ATTEMPTS = 5
    (message,) = check_settings()
    assert (message.id, type(message)) == ("monitorkit.W013", checks.Warning)
    assert "deprecated and ignored" in message.msg
    assert monitor_settings.retry_attempts == 5


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_default_spool_dir_is_the_projects_own(settings, tmp_path, monkeypatch):
    del settings.MONITORKIT_SPOOL_DIR  # the test settings name one
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = monitor_settings.spool_dir
    assert re.fullmatch(
        re.escape(str(tmp_path / "cache" / "monitorkit" / "spool-")) + "[0-9a-f]{12}", first
    )
    assert monitor_settings.spool_dir == first  # stable
    settings.BASE_DIR = "/srv/other-project"
    assert monitor_settings.spool_dir != first
    del settings.BASE_DIR
    settings.SETTINGS_MODULE = "other.settings"
    assert monitor_settings.spool_dir != first
    settings.SETTINGS_MODULE = None  # as override_settings has it: the environment's is used
    assert monitor_settings.spool_dir == first
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "NAME": "/srv/other.sqlite3"},
    }
    assert monitor_settings.spool_dir != first


def test_the_default_spool_dir_is_the_users_cache_or_the_temporary_directory(
    settings, tmp_path, monkeypatch
):
    """Per user: ``$XDG_CACHE_HOME``, else ``~/.cache``; a home it cannot write: the temp dir."""
    del settings.MONITORKIT_SPOOL_DIR
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # not made yet: made on first use
    assert monitor_settings.spool_dir.startswith(str(tmp_path / "home" / ".cache" / "monitorkit"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # not absolute: ignored, as the spec says
    assert monitor_settings.spool_dir.startswith(str(tmp_path / "home" / ".cache" / "monitorkit"))
    monkeypatch.delenv("XDG_CACHE_HOME")
    (tmp_path / "not-a-directory").touch()
    monkeypatch.setenv("HOME", str(tmp_path / "not-a-directory"))  # a home it cannot write in
    fallback = monitor_settings.spool_dir
    assert re.fullmatch(
        re.escape(os.path.join(tempfile.gettempdir(), f"monitorkit-spool-{os.geteuid()}-"))
        + "[0-9a-f]{12}",
        fallback,
    )


def test_spool_dir_from_a_string_or_a_path(settings, tmp_path):
    settings.MONITORKIT_SPOOL_DIR = str(tmp_path / "spool")
    assert monitor_settings.spool_dir == str(tmp_path / "spool")
    settings.MONITORKIT_SPOOL_DIR = tmp_path / "spool2"  # BASE_DIR / "spool", as Django writes it
    assert monitor_settings.spool_dir == str(tmp_path / "spool2")
    assert ids() == []


class BrokenPath:
    def __fspath__(self) -> str:
        raise RuntimeError("no path")


def test_a_value_whose_reading_raises_is_a_warning(settings):
    settings.MONITORKIT_SPOOL_DIR = BrokenPath()
    (message,) = check_settings()
    assert message.id == "monitorkit.W017"
    assert "cannot be read" in message.msg
    assert re.search(r"monitorkit.spool-[0-9a-f]{12}$", monitor_settings.spool_dir)  # the default


def test_a_relative_spool_dir_warns_and_is_used(settings):
    settings.MONITORKIT_SPOOL_DIR = "spool"
    (message,) = check_settings()
    assert message.id == "monitorkit.W017"
    assert monitor_settings.spool_dir == "spool"


def test_nowhere_to_send_is_a_warning(settings):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "monitorkit"]
    (message,) = check_settings()
    assert message.id == "monitorkit.W001"
    assert type(message) is checks.Warning


@pytest.mark.django_db  # Django 6's check also looks at the database
@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("TESTING", 0, "monitorkit.W003"),
        ("TESTING", "False", "monitorkit.W003"),
        ("FIREBASE_MONITORING_INTERVAL_PING", "abc", "monitorkit.W009"),
        ("FIREBASE_MONITORING_INTERVAL_PING", math.inf, "monitorkit.W009"),
        ("MONITORKIT_RETENTION", 0, "monitorkit.W014"),
    ],
)
def test_manage_py_check_reports_them_and_does_not_fail(settings, name, value, expected):
    setattr(settings, name, value)
    stderr = io.StringIO()
    call_command("check", stderr=stderr)  # an Error would raise SystemCheckError here
    assert f"({expected})" in stderr.getvalue()
    assert "WARNINGS" in stderr.getvalue()


class Noop(MonitoredCommand):
    monitor_command_name = "noop"

    def handle(self, *args: Any, **options: Any) -> str:
        return "done"


@pytest.mark.django_db(transaction=True)
def test_at_run_time_one_warning_and_the_command_still_runs(settings, caplog):
    settings.FIREBASE_MONITORING_INTERVAL_PING = math.inf
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        assert call_command(Noop()) == "done"
        assert call_command(Noop()) == "done"
    warnings = [r for r in caplog.records if "settings need attention" in r.getMessage()]
    assert len(warnings) == 1
    assert "monitorkit.W009" in warnings[0].getMessage()
    assert CommandRun.objects.count() == 2  # the default interval is used meanwhile


def test_a_bad_ping_url_is_warned_about_without_showing_it(settings):
    settings.MONITORKIT_WATCHER_PING_URL = "hc-ping.com/0f1e2d3c-secret-uuid"  # no scheme
    (message,) = check_settings()
    assert message.id == "monitorkit.W033" and "secret-uuid" not in message.msg + message.hint
    assert "MONITORKIT_WATCHER_PING_URL" in message.hint
    settings.MONITORKIT_WATCHER_PING_URL = " https://hc-ping.com/0f1e2d3c "
    assert check_settings() == []
    assert monitor_settings.watcher_ping_url == "https://hc-ping.com/0f1e2d3c"


def test_every_setting_is_declared_once_with_its_own_id():
    names = [s.name for s in conf.SETTINGS]
    check_ids = [s.check_id for s in conf.SETTINGS] + [conf.NOWHERE_TO_SEND]
    assert len(set(names)) == len(names)
    assert len(set(check_ids)) == len(check_ids)
    # The id's range says who reports it: conf (W0xx), schedules (W1xx), the notifiers (W2xx).
    # The id's range says who reports it: conf (W0xx), schedules (W1xx), the notifiers (W2xx),
    # the maintenance windows (W3xx).
    ranges = {
        None: "0",
        "monitorkit.health.schedules": "1",
        "monitorkit.alerts": "2",
        "monitorkit.health.routing": "2",
        "monitorkit.health.maintenance": "3",
    }
    for setting in conf.SETTINGS:
        assert re.fullmatch(rf"monitorkit\.W{ranges[setting.checked_by]}\d\d", setting.check_id)


# --- the settings whose entries another module judges (Setting.checked_by) -------------------

#: Each is judged by its declaration's cheap rule; what their entries say, by the module named.
DICT_SETTINGS = [
    conf.SCHEDULES,
    conf.MONITOR_MODULES,
    conf.ALERTS,
    conf.BASE_URL,
    conf.ALERT_ROUTES,
    conf.MAINTENANCE,
]


def test_the_dict_settings_are_declared_with_their_defaults():
    assert conf.SCHEDULES.value() == {}
    assert conf.MONITOR_MODULES.value() == ()
    assert conf.ALERTS.value() == {}
    assert conf.BASE_URL.value() is None
    assert conf.ALERT_ROUTES.value() == ()
    assert conf.MAINTENANCE.value() == ()
    assert all(setting.problem() is None for setting in DICT_SETTINGS)


# setting, bad value, check id, the whole message, what is read meanwhile
BAD_DICT_SETTINGS = [
    (
        conf.SCHEDULES,
        ["nightly"],
        "monitorkit.W101",
        "MONITORKIT_SCHEDULES must be a dict, not a list. The default, {}, is used meanwhile.",
        {},
    ),
    (
        conf.MONITOR_MODULES,
        "myapp.tasks",
        "monitorkit.W110",
        "MONITORKIT_MONITOR_MODULES must be a list of module paths, not 'myapp.tasks'. The "
        "default, [], is used meanwhile.",
        (),
    ),
    (
        conf.MONITOR_MODULES,
        ["json", 42],
        "monitorkit.W110",
        "MONITORKIT_MONITOR_MODULES holds 42, not a module path.",
        ("json",),
    ),
    (
        conf.ALERTS,
        "email",
        "monitorkit.W201",
        "MONITORKIT_ALERTS must be a dict, not a str. The default, {} (no alerts), is used "
        "meanwhile.",
        {},
    ),
    (
        conf.BASE_URL,
        5,
        "monitorkit.W206",
        "MONITORKIT_BASE_URL must be an http(s) URL, not 5. The default, none (alerts carry no "
        "link), is used meanwhile.",
        None,
    ),
    (
        conf.BASE_URL,
        "ops.example.com/monitor",
        "monitorkit.W206",
        "MONITORKIT_BASE_URL must be an http(s) URL, not 'ops.example.com/monitor'.",
        "ops.example.com/monitor",  # still a link a person can follow
    ),
    (
        conf.BASE_URL,
        "http://[::1/monitor",
        "monitorkit.W206",
        "MONITORKIT_BASE_URL must be an http(s) URL, not 'http://[::1/monitor'.",
        "http://[::1/monitor",
    ),
    (
        conf.ALERT_ROUTES,
        {"match": "billing_*"},
        "monitorkit.W241",
        "MONITORKIT_ALERT_ROUTES must be a list of dicts, not a dict. The default, [] (every "
        "command's alerts go to every channel), is used meanwhile.",
        (),
    ),
    (
        conf.MAINTENANCE,
        {"match": "import_*", "cron": "0 2 * * 0", "duration": 7200},
        "monitorkit.W301",
        "MONITORKIT_MAINTENANCE must be a list of dicts, not a dict. The default, [], is used "
        "meanwhile.",
        (),
    ),
]


@pytest.mark.parametrize("setting,value,expected,msg,meanwhile", BAD_DICT_SETTINGS)
def test_a_dict_setting_of_the_wrong_type_is_one_problem_said_by_its_module(
    settings, setting, value, expected, msg, meanwhile
):
    setattr(settings, setting.name, value)
    assert setting.problem() == conf.Problem(expected, msg, setting.hint)
    assert setting.value() == meanwhile
    assert ids() == []  # not before every command: with the entries' problems, once
    said = import_module(setting.checked_by).problems()
    assert [p for p in said if p.id == expected and p.msg == msg] == [setting.problem()]


@pytest.mark.django_db  # Django 6's check also looks at the database
def test_manage_py_check_says_each_dict_setting_problem_once(settings):
    settings.MONITORKIT_SCHEDULES = ["nightly"]
    settings.MONITORKIT_MONITOR_MODULES = "myapp.tasks"
    settings.MONITORKIT_ALERTS = "email"
    settings.MONITORKIT_BASE_URL = 5
    settings.MONITORKIT_ALERT_ROUTES = {"match": "billing_*"}
    settings.MONITORKIT_MAINTENANCE = {"match": "import_*"}
    stderr = io.StringIO()
    call_command("check", stderr=stderr)
    for setting in DICT_SETTINGS:
        assert stderr.getvalue().count(f"({setting.check_id})") == 1, setting.name


def test_the_watcher_says_each_dict_setting_problem_once(settings, caplog):
    """``monitor_watch`` logs them itself: it may run with ``--skip-checks``."""
    from monitorkit.management.commands.monitor_watch import Command

    settings.MONITORKIT_SCHEDULES = ["nightly"]
    settings.MONITORKIT_ALERTS = "email"
    settings.MONITORKIT_MAINTENANCE = {"match": "import_*"}
    with caplog.at_level(logging.WARNING, logger="monitorkit"):
        Command().warn_about_declarations()
    (line,) = [r.getMessage() for r in caplog.records if "need attention" in r.getMessage()]
    assert line.count("monitorkit.W101") == line.count("monitorkit.W201") == 1
    assert line.count("monitorkit.W301") == 1


def test_the_configuration_page_documents_every_setting_and_id():
    page = DOCS.read_text()
    for setting in conf.SETTINGS:
        assert f"`{setting.name}`" in page
        assert f"`{setting.check_id}`" in page
    for old in range(1, 11):  # the table from the old Error ids to the new ones
        assert f"`monitorkit.E{old:03d}`" in page


# --- routing, repeats and escalation (issue 20) -------------------------------------------------


@pytest.mark.django_db  # Django 6's check also looks at the database
def test_bad_routes_and_unknown_channels_are_warnings_with_ids_and_hints(settings):
    settings.MONITORKIT_ALERTS = {
        "email": {"to": ["ops@example.com"]},
        "webhook": [{"url": "https://a.example/h"}] * 2,
    }
    settings.MONITORKIT_ALERT_ROUTES = [
        "billing_*",
        {"match": "billing_*", "channels": ["email", "sms"], "owner": "", "page": True},
        {"match": "*", "escalate_to": ["webhook-2"], "realert_every": -1},
    ]
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "nightly": {"channels": "webhook-3", "runbook": 5, "escalate_after": "1h"},
        "weekly": {"escalate_to": [1]},
    }
    stderr = io.StringIO()
    call_command("check", stderr=stderr)
    said = stderr.getvalue()
    for check_id in ("W141", "W142", "W143", "W242", "W243"):
        assert f"(monitorkit.{check_id})" in said, check_id
    from monitorkit.health import routing, schedules

    found = {(p.id, p.msg) for p in routing.problems()}
    assert (
        "monitorkit.W243",
        "MONITORKIT_ALERT_ROUTES[1]: channels names 'sms', which no channel of MONITORKIT_ALERTS "
        "is (known: email, webhook, webhook-2); ignored.",
    ) in found
    assert any("'webhook-3'" in msg and "'nightly'" in msg for _, msg in found)
    assert not any("webhook-2'," in msg for _, msg in found)  # a list's second is known
    bad = [p.msg for p in routing.problems() if p.id == "monitorkit.W242"]
    assert len(bad) == 4  # not a dict, the empty owner, the unknown key, the negative period
    keys = {p.id for p in schedules.problems()}
    assert {"monitorkit.W141", "monitorkit.W142", "monitorkit.W143"} <= keys
    assert all(p.hint for p in routing.problems() + schedules.problems())


# --- expectations about the outcome (monitorkit/expectations.py) ------------------------------


@pytest.mark.parametrize(
    "values, check_id, words",
    [
        ({"min_duration": 0}, "monitorkit.W130", "min_duration must be more than zero"),
        ({"max_duration": "1h"}, "monitorkit.W130", "max_duration must be a number of seconds"),
        ({"check": 42}, "monitorkit.W131", "check must be a callable given the run's record"),
        ({"check": "rows > none"}, "monitorkit.W131", "'none' is not a number"),
        ({"check": "rows > 0 or x"}, "monitorkit.W131", "expected 'and'"),
        ({"min_duration": 60, "max_duration": 30}, "monitorkit.W132", "more than max_duration"),
        ({"outliers": "quick"}, "monitorkit.W133", "outliers must be 'fast', 'slow', both"),
    ],
)
@pytest.mark.django_db  # Django 6's check also looks at the database
def test_manage_py_check_warns_about_each_bad_outcome_key(settings, values, check_id, words):
    from monitorkit.checks import check_schedules_and_alerts

    settings.MONITORKIT_SCHEDULES = {"nightly": {"schedule": "@daily", **values}}
    (message,) = check_schedules_and_alerts()
    assert isinstance(message, checks.Warning)
    assert message.id == check_id and words in message.msg and "'nightly'" in message.msg
    assert message.hint
    stderr = io.StringIO()
    call_command("check", stderr=stderr)  # a warning: the check command goes on
    assert f"({check_id})" in stderr.getvalue()


def test_good_outcome_keys_have_no_problems(settings):
    from monitorkit.checks import check_schedules_and_alerts

    settings.MONITORKIT_SCHEDULES = {
        "nightly": {"min_duration": 30, "max_duration": 600, "check": "rows > 0 and errors == 0"},
        "hourly": {"check": len, "max_duration": 60},
    }
    assert check_schedules_and_alerts() == []


def test_djangos_checks_of_monitorkits_tables_run_in_the_check_command_only(monkeypatch):
    """Django checks every model before every command; monitorkit's own tables are checked
    where someone asks (``models.OwnModel``), so a project's other commands do not pay for it."""
    import django.core.management.commands.check  # noqa: F401 - as the check command has it

    from monitorkit.check_command import CHECK_COMMAND_MODULE

    field = CommandRun._meta.get_field("host")
    monkeypatch.setattr(field, "max_length", -1)  # what Django's field check finds: fields.E121
    assert "fields.E121" in [message.id for message in CommandRun.check()]
    assert "fields.E121" in [message.id for message in checks.run_checks()]

    monkeypatch.delitem(sys.modules, CHECK_COMMAND_MODULE)  # any other command
    assert CommandRun.check() == []
    assert "fields.E121" not in [message.id for message in checks.run_checks()]
    own = list(apps.get_app_config("monitorkit").get_models())
    assert [model.check() for model in own] == [[]] * len(own)
