"""The status page over the Firebase store: the same views, through the same read interface."""

from __future__ import annotations

import datetime as dt

import pytest

from monitorkit.record import Status, utcnow
from tests.stores.conftest import make_record, run_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_declared_schedule(settings):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


def test_overview_command_page_and_json_read_firebase(rtdb_server, reporter_for, admin_client):
    reporter = reporter_for(rtdb_server)
    start = utcnow() - dt.timedelta(hours=1)
    for n in range(3):
        run_once(
            reporter, make_record(f"run-{n}", "export", started=start + dt.timedelta(minutes=n))
        )
    failed = make_record("run-9", "export", started=start + dt.timedelta(minutes=10))
    reporter.write(failed)
    failed.status, failed.finished = Status.FAILED, failed.started + dt.timedelta(seconds=2)
    failed.message, failed.traceback = "<b>disk</b> full", "Traceback\nOSError: disk full"
    reporter.write(failed)
    run_once(reporter, make_record("run-a", "import__day_1", started=start))

    html = admin_client.get("/monitor/").content.decode()
    assert '<tr data-command-id="export"' in html
    assert '<span class="badge" data-health="FAILING">FAILING</span>' in html
    assert "&lt;b&gt;disk&lt;/b&gt; full" in html
    data = admin_client.get("/monitor/api/overview.json").json()
    export = next(c for c in data["commands"] if c["command_id"] == "export")
    assert [o["status"] for o in export["recent"]] == ["FAILED", "FINISHED", "FINISHED", "FINISHED"]
    assert export["last_run"]["host"] == "web-1"

    page = admin_client.get("/monitor/commands/export/").content.decode()
    assert page.count("<tr data-run-id=") == 4
    assert '<pre class="traceback">' not in page  # on the run's page, found by its node read
    run_page = admin_client.get("/monitor/commands/export/runs/run-9/").content.decode()
    assert '<pre class="traceback">Traceback\nOSError: disk full</pre>' in run_page
    assert admin_client.get("/monitor/commands/export/runs/run-x/").status_code == 404
    detail = admin_client.get("/monitor/api/commands/export.json").json()
    assert detail["health"] == "FAILING" and detail["durations"]["finished_runs"] == 3
