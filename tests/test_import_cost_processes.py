"""What installing monitorkit makes every command import, read from real ``manage.py`` processes.

Django runs the system checks before every command. monitorkit's schedule and alert check
imports every management command of the project (to read their schedules) and, through the
webhook notifier, ``requests``; it must run only in ``manage.py check`` and when
``monitor_watch`` starts (``monitorkit/checks.py``), where its warnings must still show.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.process import MANAGE, ROOT, Project

#: A schedule that is no cron expression (W103) and a webhook that is no http(s) URL (W204).
BAD_DECLARATIONS = {
    "MONITORKIT_SCHEDULES": {"nightly_report": {"schedule": "0 3 * *"}},
    "MONITORKIT_ALERTS": {"webhook": {"url": "ftp://hooks.example.com/T000/secret-path"}},
}
SCHEDULE_PROBLEM = "monitorkit.W103"
ALERT_PROBLEM = "monitorkit.W204"


#: Runs ``manage.py ARGS...`` as ``python manage.py`` would (same ``sys.argv``, same
#: ``sys.path[0]``) and, at the very end of the process (the first ``atexit`` handler runs last,
#: after monitorkit's flush), writes the name of every module in ``sys.modules`` to FILE.
MODULES_AT_EXIT = """
import atexit, os, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def modules_at_exit(project: Project, tmp_path: Path, twin: str) -> set[str]:
    """Run ``ok_command`` in a real process; return the modules it had imported at its exit."""
    out = tmp_path / f"modules-{twin or 'monitored'}.txt"
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, str(out), str(MANAGE), "ok_command"],
        env=project.env(twin=twin),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "hello\nreturned text\n"
    return set(out.read_text().split())


@pytest.mark.parametrize("twin", ["plain", ""], ids=["unmonitored", "monitored"])
def test_a_command_imports_neither_requests_nor_other_commands(
    project: Project, tmp_path: Path, twin: str
):
    modules = modules_at_exit(project, tmp_path, twin)
    assert "monitorkit.checks" in modules  # installed: its app, its checks ran
    assert "requests" not in modules
    # Nor wrapt (importlib.metadata, zipfile, csv: about 10 ms) for a plain-function handle,
    # nor the signals module, which no one here connects to.
    assert not modules & {"wrapt", "importlib.metadata", "monitorkit.signals"}
    # Nor what only the watcher, the check command or a page drawn needs (the test project
    # mounts the status page: Django's URL check imports its views before every command).
    assert not modules & {
        "monitorkit.health.schedules",
        "monitorkit.web.dashboard",
        "monitorkit.alerts",
        "monitorkit.expectations",  # only a command that declares an outcome expectation
        "monitorkit.stores.database.lease",  # only a command that limits its concurrency
    }
    # Nor the status page's views: the test project mounts the page, and Django's URL check
    # imports the URLconf before every command; its views are imported by a request only.
    assert sorted(m for m in modules if m.startswith("monitorkit.web.views.")) == [
        "monitorkit.web.views.lazy"
    ]
    # Nor, in a project with no schedule and no alerts (no watcher expected), the watcher's
    # health and the store's health side, which a run's look at the watcher would import.
    assert not modules & {
        "monitorkit.health.watcher",
        "monitorkit.stores.health_store",
        "monitorkit.stores.database.health",
        "monitorkit.delivery",
    }
    # Django's own system checks load its migrate and makemigrations commands, with or
    # without monitorkit; no other command module may be imported.
    commands = {
        name
        for name in modules
        if ".management.commands." in name and not name.startswith("django.")
    }
    assert commands == {"tests.testapp.management.commands.ok_command"}
    if not twin:
        assert [run["status"] for run in project.runs()] == ["FINISHED"]


def test_check_and_the_watcher_still_report_schedule_and_alert_problems(project: Project):
    check = project.run("check", settings=BAD_DECLARATIONS)
    assert check.returncode == 0, check.stderr[-3000:]
    assert SCHEDULE_PROBLEM in check.stderr
    assert ALERT_PROBLEM in check.stderr

    watch = project.run("monitor_watch", "--once", settings=BAD_DECLARATIONS)
    assert watch.returncode == 0, watch.stderr[-3000:]
    assert SCHEDULE_PROBLEM in watch.stderr
    assert ALERT_PROBLEM in watch.stderr
    assert "secret-path" not in check.stderr + watch.stderr

    # Any other command skips that check (its settings warnings, W0xx, still show).
    other = project.run("ok_command", settings=BAD_DECLARATIONS)
    assert other.returncode == 0, other.stderr[-3000:]
    assert SCHEDULE_PROBLEM not in other.stderr
    assert ALERT_PROBLEM not in other.stderr
