"""A page per run (issue 19, item 3): its fields, its JSON, who may see it, the alert's link to it,
and the command page and its JSON paginated without output and traceback in their lists."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitorkit.alerts.message import build_alert
from monitorkit.record import Status, utcnow
from tests.notifiers.values import failing_transition
from tests.stores.test_database import make_record
from tests.test_status_page import history, store

pytestmark = pytest.mark.django_db(transaction=True)

TRACEBACK = 'Traceback (most recent call last):\n  File "x.py"\nOSError: disk full'


@pytest.fixture(autouse=True)
def _no_declared_schedule(settings):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


@pytest.fixture
def failed_run():
    """One failed run of ``export`` with every field a run page shows."""
    history("export", [10, 11, 12])
    started = utcnow() - dt.timedelta(minutes=5)
    record = make_record(
        "export",
        params="--day 2026-12-01",
        host="worker-7",
        pid=4242,
        started=started,
        metadata={"rows": 17, "source": "ftp"},
        progress={"done": 3, "total": 40},
        output="line one\nthe last line of output",
    )
    record.message = "disk full"
    record.exception_type = "OSError"
    record.traceback = TRACEBACK
    record.exit_code = 3
    return store(record, 2.5, Status.FAILED)


def run_url(record) -> str:
    return f"/monitor/commands/export/runs/{record.run_id}/"


def test_the_run_page_shows_every_field_with_the_long_parts_open(admin_client, failed_run):
    response = admin_client.get(run_url(failed_run))
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<dd class="outcome"><span class="status-text" data-status="FAILED">FAILED</span>' in html
    )
    assert '<span class="message">disk full</span>' in html
    assert re.search(r'<dd class="started"><time datetime="[^"]+">\d{4}-', html)
    assert re.search(r'<dd class="finished"><time datetime="[^"]+">\d{4}-', html)
    assert '<dd class="duration">2.5 s</dd>' in html
    assert "<code>--day 2026-12-01</code>" in html
    assert '<dd class="host">worker-7 pid <span class="pid">4242</span></dd>' in html
    assert '<dd class="exit-code">3</dd>' in html
    assert '<dd class="run-progress-data">3 / 40' in html
    assert '<details id="metadata" open>' in html and "&quot;source&quot;: &quot;ftp&quot;" in html
    assert '<details id="traceback" open>' in html and "OSError: disk full</pre>" in html
    assert '<details id="output" open>' in html and "the last line of output</pre>" in html
    assert '<dd class="exception-type">OSError</dd>' in html
    assert 'href="/monitor/commands/export/"' in html  # back to the command


def test_a_run_page_is_one_query_of_the_run_and_one_of_the_outcomes(admin_client, failed_run):
    admin_client.get(run_url(failed_run))  # the session is loaded once either way
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(run_url(failed_run))
    runs = [q["sql"] for q in captured.captured_queries if "monitorkit_commandrun" in q["sql"]]
    assert len(runs) == 2
    assert any("run_id" in sql and "WHERE" in sql and "LIMIT" in sql for sql in runs)


def test_an_unknown_run_is_404(admin_client, failed_run):
    assert admin_client.get("/monitor/commands/export/runs/0123abcd/").status_code == 404
    # A run id of another command id is not this one's.
    assert admin_client.get(f"/monitor/commands/other/runs/{failed_run.run_id}/").status_code == 404
    response = admin_client.get("/monitor/api/commands/export/runs/0123abcd.json")
    assert response.status_code == 404 and "not kept" in response.json()["error"]


def test_the_run_json_is_the_whole_record(admin_client, failed_run):
    data = admin_client.get(f"/monitor/api/commands/export/runs/{failed_run.run_id}.json").json()
    assert data["run_id"] == failed_run.run_id and data["command_id"] == "export"
    assert data["traceback"] == TRACEBACK and data["output"].endswith("the last line of output")
    assert data["status"] == "FAILED" and data["exit_code"] == 3 and data["pid"] == 4242
    assert data["metadata"] == {"rows": 17, "source": "ftp"}
    assert data["url"] == run_url(failed_run)
    assert {"stale", "running", "ago_seconds", "flags", "generated"} <= set(data)


def test_anonymous_are_sent_to_login_and_the_json_refused(client, failed_run):
    response = client.get(run_url(failed_run))
    assert (
        response.status_code == 302
        and "/login/?next=/monitor/commands/export/runs/" in (response["Location"])
    )
    json_url = f"/monitor/api/commands/export/runs/{failed_run.run_id}.json"
    assert client.get(json_url).status_code == 401


def test_staff_without_the_permission_get_403(client, django_user_model, failed_run):
    client.force_login(django_user_model.objects.create_user("ops", password="x", is_staff=True))
    assert client.get(run_url(failed_run)).status_code == 403
    json_url = f"/monitor/api/commands/export/runs/{failed_run.run_id}.json"
    assert client.get(json_url).status_code == 403


def test_the_history_links_each_run_and_collapses_its_metadata(admin_client, failed_run):
    html = admin_client.get("/monitor/commands/export/").content.decode()
    assert f'<a class="run-link" href="{run_url(failed_run)}"' in html
    assert '<details class="metadata-details"><summary>' in html  # closed: no "open"
    assert f'<a href="{run_url(failed_run)}#traceback">Traceback</a>' in html
    assert f'<a href="{run_url(failed_run)}#output">Output</a>' in html
    assert TRACEBACK not in html and "the last line of output" not in html


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a class="run-link" href="[^"]+"[^>]*>(\d+)</a>', html)]


def test_the_command_page_and_its_json_paginate_newest_first(admin_client):
    history("export", [1.0] * 60)
    second = admin_client.get("/monitor/commands/export/?page=2").content.decode()
    seqs = numbers(second)
    assert len(seqs) == 25 and seqs == sorted(seqs, reverse=True)
    first = numbers(admin_client.get("/monitor/commands/export/").content.decode())
    assert first[-1] == seqs[0] + 1  # page 2 holds the 26th to the 50th newest
    assert "Page 2 of 3" in second and "over 60 finished runs of 60 kept" in second
    data = admin_client.get("/monitor/api/commands/export.json?page=2").json()
    assert [run["seq"] for run in data["runs"]] == seqs
    assert (data["page"], data["pages"], data["per_page"], data["kept_runs"]) == (2, 3, 25, 60)
    last = admin_client.get("/monitor/api/commands/export.json?page=99").json()
    assert last["page"] == 3 and len(last["runs"]) == 10


def test_list_items_leave_out_output_and_traceback(admin_client, failed_run):
    data = admin_client.get("/monitor/api/commands/export.json").json()
    newest = data["runs"][0]
    assert newest["run_id"] == failed_run.run_id and data["newest_run_id"] == failed_run.run_id
    assert "output" not in newest and "traceback" not in newest
    assert newest["has_output"] is True and newest["has_traceback"] is True
    assert data["runs"][1]["has_traceback"] is False
    assert newest["url"] == run_url(failed_run)
    assert newest["api_url"] == f"/monitor/api/commands/export/runs/{failed_run.run_id}.json"
    assert len(data["chart"]) == 4 and set(data["chart"][0]) == {
        "run_id",
        "seq",
        "status",
        "started",
        "duration",
        "stale",
    }


def test_a_page_reads_only_its_runs(admin_client):
    history("export", [1.0] * 40)
    url = "/monitor/commands/export/?page=2"
    admin_client.get(url)
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(url)
    whole = [
        q["sql"]
        for q in captured.captured_queries
        if "monitorkit_commandrun" in q["sql"] and '"traceback"' in q["sql"]
    ]
    assert whole and all("LIMIT" in sql for sql in whole)
    assert any("LIMIT 25 OFFSET 25" in sql for sql in whole)  # the page's rows, not 50 of them


def test_an_alert_about_a_run_links_to_its_page(settings):
    settings.MONITORKIT_BASE_URL = "https://ops.example.com/monitor/"
    alert = build_alert(failing_transition())
    run_id = alert.transition.record.run_id
    expected = f"https://ops.example.com/monitor/commands/import_data__limit_5/runs/{run_id}/"
    assert alert.url == expected and f"Status page: {expected}" in alert.text
    about_no_run = build_alert(failing_transition(record=None))
    assert about_no_run.url == "https://ops.example.com/monitor/commands/import_data__limit_5/"
    settings.MONITORKIT_BASE_URL = None
    assert build_alert(failing_transition()).url is None


def test_a_poll_of_an_unchanged_command_or_run_fetches_no_body(admin_client):
    """The command's and the run's JSON carry an ETag of what is stored; asked again with it
    (``live.js`` does), they answer 304 and nothing else until a run changes."""
    history("export", [1.0] * 3)
    url = "/monitor/api/commands/export.json"
    first = admin_client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    again = admin_client.get(url, HTTP_IF_NONE_MATCH=etag)  # the clock moved, nothing else
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    run_url = first.json()["runs"][0]["api_url"]
    run_etag = admin_client.get(run_url)["ETag"]
    assert admin_client.get(run_url, HTTP_IF_NONE_MATCH=run_etag).status_code == 304

    history("export", [2.0])  # a new run: the poll fetches the page again
    changed = admin_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["runs"][0]["duration"] == 2.0
