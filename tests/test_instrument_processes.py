"""``MONITORKIT_AUTO`` with real ``manage.py`` processes: Django's own commands, unchanged.

Each command runs twice on the same database, first with auto mode off (its "twin"), then on:
exit code, stdout and stderr must be the same, and only the second run leaves a record.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process import (
    PostgresProject,
    Project,
    strip_monitorkit_frames,
    wait_for,
    wait_for_line,
)

pytestmark = pytest.mark.subprocess

AUTO = {"MONITORKIT_AUTO": True}
OFF = {"MONITORKIT_AUTO": False}
FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 1.0}


def same_process(
    project: Project, *args: str, settings: dict[str, Any] | None = None, twin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` with auto mode off, then on; check both ended alike; return the second."""
    extra = settings or {}
    plain = project.run(*args, settings={**extra, **OFF}, twin=twin)
    auto = project.run(*args, settings={**extra, **AUTO}, twin=twin)
    assert auto.returncode == plain.returncode
    assert auto.stdout == plain.stdout
    assert strip_monitorkit_frames(auto.stderr) == plain.stderr
    return auto


def statuses(project: Project) -> list[tuple[str, str, int | None]]:
    return [(r["command_id"], r["status"], r["exit_code"]) for r in project.runs()]


@pytest.mark.parametrize(
    ("args", "command_id"),
    [
        (["migrate"], "migrate"),
        (["clearsessions"], "clearsessions"),
        (["migrate", "--plan"], "migrate__plan_True"),
    ],
)
def test_djangos_own_command_is_recorded_and_unchanged(
    project: Project, args: list[str], command_id: str
):
    result = same_process(project, *args)
    assert result.returncode == 0
    assert statuses(project) == [(command_id, "FINISHED", 0)]
    (run,) = project.runs()
    assert run["name"] == args[0]


@pytest.mark.parametrize(
    ("args", "command_id", "message"),
    [
        (["migrate", "nosuchapp"], "migrate__app_label_nosuchapp", "No installed app with label"),
        (["loaddata", "nosuchfixture"], "loaddata__nosuchfixture", "No fixture named"),
    ],
)
def test_a_failing_django_command_is_recorded_and_unchanged(
    project: Project, args: list[str], command_id: str, message: str
):
    result = same_process(project, *args)
    assert result.returncode == 1
    assert result.stderr.startswith(f"CommandError: {message}")
    assert statuses(project) == [(command_id, "FAILED", 1)]
    (run,) = project.runs()
    assert run["exception_type"] == "django.core.management.base.CommandError"
    assert message in run["message"]


@pytest.mark.parametrize(
    ("args", "settings"),
    [
        (["clearsessions"], {"MONITORKIT_AUTO_EXCLUDE": ["clearsessions"]}),
        (["clearsessions"], {"MONITORKIT_AUTO_INCLUDE": ["import_*"]}),
        (["clearsessions", "--disable_monitor"], {}),
        (["clearsessions"], {"FIREBASE_MONITORING_RUN": False}),
        (["clearsessions"], {"TESTING": True}),
        # Excluded by default (DEFAULT_AUTO_EXCLUDE), here run without asking anything.
        (["makemigrations", "--check", "--dry-run"], {}),
        (["check"], {}),
        (["showmigrations"], {}),
    ],
)
def test_nothing_is_recorded_when_it_should_not_be(
    project: Project, args: list[str], settings: dict[str, Any]
):
    if "--disable_monitor" in args:  # auto off has no such option: compare with the plain run
        plain = project.run("clearsessions", settings=OFF)
        auto = project.run(*args, settings={**settings, **AUTO})
        assert (auto.returncode, auto.stdout, auto.stderr) == (0, plain.stdout, plain.stderr)
    else:
        same_process(project, *args, settings=settings)
    assert project.runs() == []


def test_a_plain_command_of_the_project_is_monitored(project: Project):
    ok = same_process(project, "ok_command", "--label=x", twin="plain")
    assert ok.stdout == "hello x\nreturned text\n"
    failed = same_process(project, "fail_command", twin="plain")
    assert failed.returncode == 1
    assert "ValueError: boom: the input is bad" in failed.stderr
    assert statuses(project) == [
        ("ok_command__label_x", "FINISHED", 0),
        ("fail_command", "FAILED", 1),
    ]
    assert project.runs()[1]["exception_type"] == "builtins.ValueError"


def test_a_monitored_command_is_recorded_once(project: Project):
    result = project.run("ok_command", settings=AUTO)
    assert result.returncode == 0
    assert statuses(project) == [("ok_command", "FINISHED", 0)]


def test_sigterm_ends_an_auto_monitored_command_as_before(project: Project):
    outcomes = {}
    for auto in (False, True):
        process = project.popen(
            "sleep_command",
            "--seconds=60",
            settings={**FAST, "MONITORKIT_AUTO": auto},
            twin="plain",
        )
        wait_for_line(process, "ready")
        if auto:
            wait_for(lambda: [r for r in project.runs() if r["status"] == "RUNNING"])
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
        outcomes[auto] = (process.returncode, stdout, strip_monitorkit_frames(stderr))
    assert outcomes[True] == outcomes[False]
    assert outcomes[True][0] == -signal.SIGTERM  # ended by the signal itself
    (run,) = project.runs()
    assert run["status"] == "SYSTEM_KILL"
    assert run["message"] == "Killed by SIGTERM"
    assert run["exit_code"] == 128 + signal.SIGTERM


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_project(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Project]]:
    """Make projects whose database is empty: nothing migrated yet."""
    made: list[tuple[Any, str]] = []

    def make(label: str) -> Project:
        directory = tmp_path / label
        directory.mkdir()
        if request.param == "sqlite":
            return Project(directory)
        cluster = request.getfixturevalue("postgres")
        name = cluster.create_database()
        made.append((cluster, name))
        return PostgresProject(directory, cluster, name)

    yield make
    for cluster, name in made:
        cluster.drop_database(name)


def test_migrate_on_a_fresh_database_is_recorded_at_no_visible_cost(
    fresh_project: Callable[[str], Project],
):
    """The store's tables do not exist when the run starts: migrate creates them meanwhile.

    The start is not written (its table is missing) and the finish stores the whole run; the
    command is not held, and nothing is printed, whether migrate outlasts the flush bound
    before it creates the tables (0.1 s here) or not (the default, 3 s).
    """
    for flush_timeout in (0.1, 3.0):
        results = {}
        for auto in (False, True):
            fresh = fresh_project(f"fresh-{flush_timeout}-{auto}")
            settings = {"MONITORKIT_AUTO": auto, "MONITORKIT_FLUSH_TIMEOUT": flush_timeout}
            results[auto] = fresh.run("migrate", settings=settings)
            if auto:
                assert statuses(fresh) == [("migrate", "FINISHED", 0)]
                assert not any((fresh.db_dir / "spool").glob("*"))  # nothing left behind
            else:
                assert fresh.runs() == []
        plain, auto_run = results[False], results[True]
        assert (auto_run.returncode, auto_run.stdout, auto_run.stderr) == (
            0,
            plain.stdout,
            plain.stderr,
        )
        assert "Applying monitorkit.0001_initial... OK" in auto_run.stdout
        # Not held: a flush that waits out its bound says so on stderr ("monitorkit stopped
        # waiting after ..."), which the equal stderr above rules out. No stopwatch here: on a
        # busy machine two runs of migrate differ by seconds, whatever monitorkit does.
        assert "stopped waiting" not in auto_run.stderr
