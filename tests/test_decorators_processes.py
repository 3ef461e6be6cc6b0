"""``monitorkit.monitor`` in real processes: a task-like script, and the watcher.

The script is what a Celery or RQ worker does with a task: set Django up, import the module,
call the function. It is run monitored, switched off, and as its unmonitored twin (the same
code undecorated, ``tests/testapp/jobs.py``), and what the process shows must not change.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.process import ROOT, Project, strip_monitorkit_frames
from tests.test_watch_processes import FAST, transitions, watch_once

# Run once (on the main leg of scripts/test), not in every nox leg: the subject is the
# decorator's declarations; tests/test_decorators.py runs in every leg.
pytestmark = [pytest.mark.subprocess, pytest.mark.once]

SCRIPT = "import django; django.setup(); from tests.testapp import jobs; jobs.main()"


def run_script(
    project: Project, settings: dict[str, Any] | None = None, twin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = project.env(settings, twin)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_failing_function_in_a_process_shows_what_it_shows_unmonitored(project: Project):
    monitored = run_script(project)
    after_monitored = project.runs()
    stored = {run["command_id"]: run for run in after_monitored}
    switched_off = run_script(project, {"FIREBASE_MONITORING_RUN": False})
    plain = run_script(project, twin="plain")

    assert monitored.returncode == switched_off.returncode == plain.returncode == 1
    assert monitored.stdout == switched_off.stdout == plain.stdout
    assert plain.stdout == "hello ann\nANN\nhello again bob\nbob\nabout to fail\n"
    assert "RuntimeError: the upstream feed is down" in plain.stderr
    assert strip_monitorkit_frames(monitored.stderr) == plain.stderr
    assert strip_monitorkit_frames(switched_off.stderr) == plain.stderr
    assert "During handling" not in monitored.stderr and "direct cause" not in monitored.stderr

    assert stored["greet_job"]["status"] == "FINISHED"
    assert json.loads(stored["greet_job"]["metadata"]) == {"queue": "default"}
    assert stored["async_greet_job"]["status"] == "FINISHED"
    failed = stored["explode_job"]
    assert failed["status"] == "FAILED"
    assert failed["exception_type"] == "builtins.RuntimeError"
    assert failed["message"] == "the upstream feed is down"
    assert failed["exit_code"] is None
    assert 'raise RuntimeError("the upstream feed is down")' in failed["traceback"]
    assert all("hunter2" not in str(value) for value in failed.values())
    assert project.runs() == after_monitored, "neither twin stored a run"


def status_json(project: Project, settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = project.run("monitor_status", "--json", settings=settings)
    assert result.returncode == 0, result.stderr
    return {item["id"]: item for item in json.loads(result.stdout)}


def test_the_watcher_learns_a_decorated_schedule_from_monitor_modules(project: Project):
    base: dict[str, Any] = {
        **FAST,
        "MONITORKIT_SCHEDULES": {"scheduled_command": {"schedule": None}},
    }
    assert "every_second_job" not in status_json(project, base), "unknown without the setting"

    settings = {
        **base,
        "MONITORKIT_MONITOR_MODULES": ["tests.testapp.jobs_scheduled", "tests.testapp.jobs_gone"],
    }
    listed = status_json(project, settings)["every_second_job"]
    assert listed["health"] == "NEW" and listed["next_expected"]

    first = watch_once(project, settings)
    assert "monitorkit.W110" in first.stderr and "tests.testapp.jobs_gone" in first.stderr
    # Time passes for a judgement (past its every-second start and half-second margin); the
    # first cycle has ended, so no process state is assumed. A busy machine only adds.
    time.sleep(1.6)
    second = watch_once(project, settings)
    assert "every_second_job  NEW -> MISSED" in second.stdout
    assert ("every_second_job", "NEW", "MISSED") in [t[:3] for t in transitions(project)]
    assert [r["status"] for r in project.runs("every_second_job")] == ["MISSED"]
