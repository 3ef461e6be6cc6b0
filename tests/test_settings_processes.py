"""Bad monitoring settings never stop a real ``manage.py`` process (issue 8, item 3).

Before, ``TESTING = 0`` or a heartbeat interval of ``"abc"`` were system-check *errors*, and
Django refuses to run any command with system checks while an error stands (``migrate`` exited
1). An interval of ``1e10`` passed the check and crashed the heartbeat thread with an
``OverflowError`` traceback on stderr. Now each is a warning, and the default is used.

Settings travel to the process as JSON (``tests/process.py``); Python's ``json`` carries
``Infinity`` and ``NaN`` too.
"""

from __future__ import annotations

import math

import pytest

from tests.process import Project

pytestmark = pytest.mark.subprocess

RUNTIME_WARNING = "monitorkit settings need attention (the command runs anyway)"

BAD_SETTINGS = {
    "types": (
        {
            "TESTING": 0,
            "FIREBASE_MONITORING_INTERVAL_PING": "abc",
            "MONITORKIT_RETENTION": 0,
            "MONITORKIT_DATABASE_ALIAS": "replica",
        },
        ["monitorkit.W003", "monitorkit.W007", "monitorkit.W009", "monitorkit.W014"],
    ),
    "huge": (
        {
            "TESTING": "False",
            "FIREBASE_MONITORING_INTERVAL_PING": 1e10,
            "MONITORKIT_STALE_AFTER": 10**30,
            "MONITORKIT_FLUSH_TIMEOUT": 1e10,
            "MONITORKIT_HTTP_TIMEOUT": [1, 1e10],
            "MONITORKIT_QUEUE_SIZE": 10**30,
        },
        [
            "monitorkit.W003",
            "monitorkit.W009",
            "monitorkit.W010",
            "monitorkit.W011",
            "monitorkit.W012",
            "monitorkit.W016",
        ],
    ),
}


def without_runtime_warning(stderr: str) -> list[str]:
    """Return stderr's lines without monitorkit's one run-time settings warning."""
    return [line for line in stderr.splitlines() if not line.startswith(RUNTIME_WARNING)]


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_settings_only_warn_and_every_command_runs(project: Project, case: str):
    settings, check_ids = BAD_SETTINGS[case]

    migrate = project.run("migrate", "-v0", settings=settings)
    assert migrate.returncode == 0, migrate.stderr
    assert "monitorkit.W003" in migrate.stderr  # reported, as a warning

    check = project.run("check", settings=settings)
    assert check.returncode == 0, check.stderr
    for check_id in check_ids:
        assert f"({check_id})" in check.stderr
    assert "ERRORS" not in check.stderr
    assert "Traceback" not in check.stderr

    plain = project.run("ok_command", "--label=x", settings=settings, twin="plain")
    monitored = project.run("ok_command", "--label=x", settings=settings)
    assert monitored.returncode == plain.returncode == 0, monitored.stderr
    assert monitored.stdout == plain.stdout
    assert without_runtime_warning(monitored.stderr) == plain.stderr.splitlines()
    assert RUNTIME_WARNING in monitored.stderr  # never silent

    (run,) = project.runs()  # TESTING = 0 / "False": not testing, so the run is recorded
    assert run["command_id"] == "ok_command__label_x"
    assert run["status"] == "FINISHED"
    assert run["exit_code"] == 0


@pytest.mark.parametrize("interval", [1e10, 10**30, math.inf, math.nan])
def test_a_huge_interval_never_crashes_the_heartbeat(project: Project, interval: float):
    settings = {"FIREBASE_MONITORING_INTERVAL_PING": interval}
    # A command that lives a little, so that its heartbeat thread surely waits.
    args = ("sleep_command", "--seconds=0.3", "--steps=3")

    plain = project.run(*args, settings=settings, twin="plain")
    monitored = project.run(*args, settings=settings)

    assert "Traceback" not in monitored.stderr
    assert "OverflowError" not in monitored.stderr
    assert monitored.returncode == plain.returncode == 0
    assert monitored.stdout == plain.stdout
    assert without_runtime_warning(monitored.stderr) == plain.stderr.splitlines()
    (run,) = project.runs()
    assert run["status"] == "FINISHED"


#: Settings declared in conf whose problems the schedule and alert check says, with those of
#: their entries (``Setting.checked_by``): each of the wrong type, and each id it must show.
WRONG_TYPES = {
    "MONITORKIT_SCHEDULES": ["nightly"],
    "MONITORKIT_MONITOR_MODULES": "myapp.tasks",
    "MONITORKIT_ALERTS": "email",
    "MONITORKIT_BASE_URL": 5,
}
WRONG_TYPE_IDS = ["monitorkit.W101", "monitorkit.W110", "monitorkit.W201", "monitorkit.W206"]


def test_a_dict_setting_of_the_wrong_type_is_said_once_where_its_entries_are(project: Project):
    check = project.run("check", settings=WRONG_TYPES)
    assert check.returncode == 0, check.stderr
    for check_id in WRONG_TYPE_IDS:
        assert check.stderr.count(f"({check_id})") == 1, check.stderr

    watch = project.run("monitor_watch", "--once", "--skip-checks", settings=WRONG_TYPES)
    assert watch.returncode == 0, watch.stderr
    for check_id in WRONG_TYPE_IDS:
        assert watch.stderr.count(check_id) == 1, watch.stderr

    # Any other command: not before it (cheap as the rules are, their check runs with the
    # entries'), and the command runs.
    other = project.run("ok_command", settings=WRONG_TYPES)
    assert other.returncode == 0, other.stderr
    assert not any(check_id in other.stderr for check_id in WRONG_TYPE_IDS)
