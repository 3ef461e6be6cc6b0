"""The release and the cost of every run (issue 21, items 2 and 3), under real ``manage.py``.

On SQLite and PostgreSQL (the database store) and on the local Firebase server: each run is
stored with its release (from ``MONITORKIT_RELEASE`` or the environment), Python's and
Django's versions, and what it cost, compared with what the command measured itself: its CPU
time and peak memory (the record's are read later, so never less), and exactly the queries it
ran, whatever monitorkit itself wrote meanwhile.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import django
import pytest

from monitorkit.conf import RELEASE_VARIABLES
from tests.process import MANAGE, ROOT, Project, wait_for, wait_for_line
from tests.test_firebase_processes import KEY, NS, firebase, log_of
from tests.test_import_cost_processes import MODULES_AT_EXIT

pytestmark = pytest.mark.subprocess

PYTHON = sys.version.split()[0]
MIB = 1024 * 1024
#: Heartbeats every 50 ms: monitorkit writes while the command runs and sleeps.
BEATING = {"FIREBASE_MONITORING_INTERVAL_PING": 0.05}


@pytest.fixture(autouse=True)
def _no_release_in_the_environment(monkeypatch):
    """The processes inherit this environment: no release variable but the test's own."""
    for name in RELEASE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def versions(release: str) -> dict[str, str]:
    """The release of a run of this Python and this Django."""
    return {"release": release, "python": PYTHON, "django": django.__version__}


def data(value: Any) -> Any:
    """A JSON column as data: SQLite gives its text, psycopg the data."""
    return json.loads(value) if isinstance(value, str) else value


def measured(stdout: str) -> dict[str, Any]:
    """What the command measured itself, just before it returned (its last line)."""
    found: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return found


def assert_cost_as_measured(cost: dict[str, Any], itself: dict[str, Any], queries: int) -> None:
    assert itself["cpu_user_seconds"] > 0
    assert cost["cpu_user_seconds"] >= itself["cpu_user_seconds"]
    assert cost["cpu_system_seconds"] >= itself["cpu_system_seconds"] >= 0
    # Read after the command's own reading: never less, and the same peak unless the last
    # moments of the run grew it (they hold nothing like the 64 MiB the command held).
    assert itself["peak_memory_bytes"] > 64 * MIB
    assert itself["peak_memory_bytes"] <= cost["peak_memory_bytes"]
    assert cost["peak_memory_bytes"] < itself["peak_memory_bytes"] + 16 * MIB
    assert cost["databases"]["default"]["queries"] == queries
    seconds = cost["databases"]["default"]["seconds"]
    assert 0 < seconds < 60 if queries else seconds == 0


def test_a_run_stores_its_release_versions_and_cost(store_project: Project):
    settings = {"MONITORKIT_RELEASE": "v1.2.3", **BEATING}
    args = ("cost_command", "--queries=57", "--megabytes=64", "--sleep=0.4")
    result = store_project.run(*args, settings=settings)
    assert result.returncode == 0, result.stderr
    (run,) = store_project.runs()
    assert run["status"] == "FINISHED"
    assert data(run["release"]) == versions("v1.2.3")
    assert_cost_as_measured(data(run["cost"]), measured(result.stdout), 57)


def test_a_failed_run_has_its_cost_and_a_run_without_queries_counts_none(store_project: Project):
    result = store_project.run("cost_command", "--megabytes=64", "--fail", settings=BEATING)
    assert result.returncode == 1
    (run,) = store_project.runs()
    assert run["status"] == "FAILED"
    # The store's connection on the command's thread is counted from the start: no query.
    assert_cost_as_measured(data(run["cost"]), measured(result.stdout), 0)
    assert data(run["release"])["release"] is None  # neither the setting nor the environment


def test_the_release_comes_from_the_first_environment_variable_set(project: Project, monkeypatch):
    monkeypatch.setenv("GIT_SHA", "abc123")
    assert project.run("ok_command").returncode == 0
    monkeypatch.setenv("SOURCE_VERSION", "  9f8e7d6  ")  # listed before GIT_SHA; trimmed
    assert project.run("ok_command").returncode == 0
    monkeypatch.setenv("MONITORKIT_RELEASE", "from-the-environment")
    assert project.run("ok_command").returncode == 0
    assert project.run("ok_command", settings={"MONITORKIT_RELEASE": "setting"}).returncode == 0
    releases = [data(run["release"])["release"] for run in project.runs()]
    assert releases == ["abc123", "9f8e7d6", "from-the-environment", "setting"]


def test_a_bad_release_setting_warns_and_the_environment_is_used(project: Project, monkeypatch):
    monkeypatch.setenv("GIT_SHA", "abc123")
    result = project.run("ok_command", settings={"MONITORKIT_RELEASE": 42})
    assert result.returncode == 0
    assert "monitorkit.W036" in result.stderr and "MONITORKIT_RELEASE" in result.stderr
    (run,) = project.runs()
    assert data(run["release"])["release"] == "abc123"


def test_a_killed_run_has_its_release_and_cost(project: Project):
    process = project.popen(
        "sleep_command", "--seconds=60", settings={"MONITORKIT_RELEASE": "killed-1", **BEATING}
    )
    try:
        wait_for_line(process, "ready")
        wait_for(lambda: project.runs())  # the start is stored: SIGTERM ends a run, not a start
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    (run,) = project.runs()
    assert run["status"] == "SYSTEM_KILL"
    assert data(run["release"])["release"] == "killed-1"
    cost = data(run["cost"])
    assert cost["cpu_user_seconds"] > 0 and cost["peak_memory_bytes"] > MIB


@pytest.mark.once
def test_firebase_stores_the_release_and_cost(project: Project, rtdb_server):
    settings = firebase(rtdb_server.url, MONITORKIT_RELEASE="fb-7", **BEATING)
    args = ("cost_command", "--queries=12", "--megabytes=64", "--sleep=0.4")
    result = project.run(*args, settings=settings)
    assert result.returncode == 0, result.stderr
    (command_id,) = rtdb_server.data(NS)[KEY]["commands"]
    (run,) = log_of(rtdb_server, command_id)
    assert run["release"] == versions("fb-7")
    # The command's queries on its own database are counted; the store is not a database.
    assert_cost_as_measured(run["cost"], measured(result.stdout), 12)
    assert project.runs() == []


def test_a_nested_command_counts_its_queries_in_its_run_and_its_callers(project: Project):
    # query_command counts the items (one query), then runs itself nested, which does the same.
    assert project.run("query_command", "--nested").returncode == 0
    queries = {
        run["command_id"]: data(run["cost"])["databases"]["default"]["queries"]
        for run in project.runs()
    }
    assert queries == {"query_command__nested_True": 2, "query_command__label_inner": 1}


def test_a_command_not_monitored_imports_nothing_of_release_or_cost(project: Project, tmp_path):
    # Django's own clearsessions, not monitored: its system checks run (the URL check imports
    # the URLconf, whose views are imported by a request only). Not a test command: those
    # import MonitoredCommand even as their plain twins (tests/testapp/twin.py), which a
    # project's plain commands do not.
    out = tmp_path / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, str(out), str(MANAGE), "clearsessions"],
        env=project.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modules = set(out.read_text().split())
    assert "monitorkit.checks" in modules and "monitorkit.urls" in modules
    assert not modules & {"monitorkit.release", "monitorkit.measures", "monitorkit.recording.cost"}
