"""One setting picks the store, and everything goes through it: a store that lives only in
``tests/`` (``tests/filestore.py``, one class) is written by real ``manage.py`` processes and
read by the status page and its JSON, the watcher and its alerts, the metrics and
``monitor_status`` (issue 18)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit.stores import store_reporter
from tests.filestore import FileStore
from tests.process import Project

STORE = "tests.filestore.FileStore"
TOKEN = "store-metrics-token"


def test_a_project_s_own_store_is_written_by_commands_and_read_everywhere(
    project: Project, tmp_path: Path, settings: Any, admin_client: Any, client: Any
) -> None:
    path = str(tmp_path / "runs.json")
    chosen = {"MONITORKIT_STORE": STORE, "TEST_FILE_STORE": path}
    ok = project.run("ok_command", settings=chosen)
    failed = project.run("fail_command", settings=chosen)
    assert ok.returncode == 0 and failed.returncode == 1, failed.stderr[-2000:]
    stored = json.loads(Path(path).read_text())["runs"]
    assert {cid: [r["status"] for r in runs.values()] for cid, runs in stored.items()} == {
        "ok_command": ["FINISHED"],
        "fail_command": ["FAILED"],
    }
    assert project.runs() == []  # the project's database was not written: one store

    settings.MONITORKIT_STORE = STORE
    settings.TEST_FILE_STORE = path
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_ALERTS = {
        "file": {"BACKEND": "tests.notifiers.test_backend.FileNotifier", "path": f"{path}.alerts"}
    }
    assert isinstance(store_reporter(), FileStore)

    out = io.StringIO()
    call_command("monitor_watch", "--once", stdout=out, stderr=out)
    (alert,) = [json.loads(line) for line in Path(f"{path}.alerts").read_text().splitlines()]
    assert (alert["command_id"], alert["health"]) == ("fail_command", "FAILING")

    overview = admin_client.get("/monitor/api/overview.json").json()
    healths = {c["command_id"]: c["health"] for c in overview["commands"]}
    assert healths == {"ok_command": "OK", "fail_command": "FAILING"}
    page = admin_client.get("/monitor/commands/fail_command/")
    assert page.status_code == 200 and b"FAILING" in page.content
    text = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    ids = 'command="fail_command",command_id="fail_command"'
    assert f'monitorkit_health{{{ids},health="FAILING"}} 1.0' in text
    status = io.StringIO()
    call_command("monitor_status", "--json", stdout=status)
    listed = {item["id"]: item["health"] for item in json.loads(status.getvalue())}
    assert listed == {"ok_command": "OK", "fail_command": "FAILING"}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("tests.nowhere.Store", "cannot be imported"),
        ("tests.filestore.STATE_TIMES", "is not a subclass"),
        (42, "must be the dotted path"),
    ],
)
def test_a_store_setting_that_cannot_be_used_is_a_warning_and_the_default_store_is_kept(
    settings: Any, value: Any, says: str
) -> None:
    from monitorkit.conf import problems
    from monitorkit.stores.database.runs import DatabaseReporter

    settings.MONITORKIT_STORE = value
    (problem,) = [p for p in problems() if p.id == "monitorkit.W031"]
    assert says in problem.msg
    assert isinstance(store_reporter(), DatabaseReporter)
