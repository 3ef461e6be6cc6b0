"""The status page, its JSON and the metrics, over a real SQLite store written by the reporter."""

from __future__ import annotations

import datetime as dt
import re
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.stores.database.runs import DatabaseReporter
from tests.stores.test_database import make_record

pytestmark = pytest.mark.django_db(transaction=True)

XSS = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _no_declared_schedule(settings):
    """The test app's scheduled_command declares a schedule; these tests look at runs only."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}


def store(record: RunRecord, seconds: float | None = None, status: Status = Status.FINISHED):
    """Write a run through the reporter: started, then finished ``seconds`` later."""
    reporter = DatabaseReporter()
    reporter.write(record)
    if seconds is not None:
        record.status = status
        record.finished = record.latest = record.started + dt.timedelta(seconds=seconds)
        record.message = record.message if status != Status.FINISHED else "Command finished"
        reporter.write(record)
    return record


def history(command_id: str, durations: list[float]) -> None:
    start = utcnow() - dt.timedelta(hours=len(durations) + 1)
    for n, seconds in enumerate(durations):
        record = make_record(command_id, started=start + dt.timedelta(hours=n))
        store(record, seconds)


def failing(command_id: str = "export", **fields) -> RunRecord:
    record = make_record(command_id, **fields)
    record.message = fields.get("message", "disk full")
    record.exception_type = "OSError"
    record.traceback = fields.get("traceback", 'Traceback:\n  File "x.py"\nOSError: disk full')
    record.exit_code = 1
    return store(record, 2.0, Status.FAILED)


def running(command_id: str = "import", done: int = 3, total: int = 10) -> RunRecord:
    now = utcnow()
    record = make_record(command_id, started=now - dt.timedelta(seconds=30), latest=now)
    record.status = Status.RUNNING
    record.progress = {"done": done, "total": total}
    DatabaseReporter().write(record)
    return record


def test_overview_shows_a_failing_command_as_failing(admin_client):
    history("export", [5, 5, 5])
    failing("export")
    history("import__day_1", [10])
    page = admin_client.get("/monitor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<table id="overview"' in html
    assert '<tr data-command-id="export"' in html
    assert '<span class="badge" data-health="FAILING">FAILING</span>' in html
    assert '<span class="badge" data-health="OK">OK</span>' in html
    assert "disk full" in html
    assert 'data-status="STALE"' not in html
    # The strip: the last outcomes, oldest first, each with a title.
    strip = html.split('<tr data-command-id="export"')[1].split('<td class="strip"')[1]
    strip = strip.split("</td>")[0]
    statuses = [part.split('"')[0] for part in strip.split('data-status="')[1:]]
    assert statuses == ["FINISHED", "FINISHED", "FINISHED", "FAILED"]
    assert 'title="#4 · FAILED · ' in strip
    assert "monitorkit/live.js" in html and 'data-refresh-seconds="5"' in html


@freeze_time("2026-01-01 03:00:30")  # no time passes between the write and the read
def test_running_command_shows_progress_and_eta(admin_client):
    running("import", 3, 10)
    html = admin_client.get("/monitor/").content.decode()
    assert '<progress class="run-progress" value="3" max="10">' in html
    assert '<span class="progress-text">3 / 10 (30%), ETA 1m 10s' in html  # 7 x 10 s
    data = admin_client.get("/monitor/api/overview.json").json()
    (command,) = data["commands"]
    assert command["health"] == "RUNNING" and command["last_run"]["stale"] is False
    assert [o["stale"] for o in command["recent"]] == [False]
    assert command["progress"]["done"] == 3 and command["progress"]["percent"] == 30.0
    assert command["progress"]["eta_seconds"] == 70.0


def test_a_run_that_stopped_beating_is_shown_stale_everywhere(admin_client, client, settings):
    """Stored RUNNING with its progress; shown STALE, with no progress or ETA, on every reader."""
    settings.MONITORKIT_METRICS_TOKEN = "s3cret-token"
    history("import", [5])
    silent = running("import", 3, 10)
    silent.latest = silent.started = utcnow() - dt.timedelta(hours=1)
    DatabaseReporter().write(silent)  # the store keeps what the run said: RUNNING, 3 of 10
    data = admin_client.get("/monitor/api/overview.json").json()
    (command,) = data["commands"]
    assert command["health"] == "STALE"
    assert (command["last_run"]["status"], command["last_run"]["stale"]) == ("RUNNING", True)
    assert command["progress"] is None
    assert [(o["status"], o["stale"]) for o in command["recent"]] == [
        ("RUNNING", True),
        ("FINISHED", False),
    ]
    html = admin_client.get("/monitor/").content.decode()
    row = html.split('<tr data-command-id="import"')[1].split("</tr>")[0]
    assert '<td class="last-status" data-label="Last run" data-status="STALE">STALE</td>' in row
    assert "RUNNING" not in row and "ETA" not in row and "<progress" not in row
    assert 'data-status="STALE" title="#2 · STALE · ' in row
    one = admin_client.get("/monitor/api/commands/import.json").json()
    assert one["health"] == "STALE" and one["progress"] is None
    assert [r["stale"] for r in one["runs"]] == [True, False]
    page = admin_client.get("/monitor/commands/import/").content.decode()
    assert '<span class="status-text" data-status="STALE">STALE</span>' in page
    # "ETA" as a word: the page's CSRF token (the nav's log-out form) may hold the letters.
    assert ">RUNNING<" not in page and not re.search(r"\bETA\b", page)
    metrics = client.get("/monitor/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    text = metrics.content.decode()
    ids = 'command="import",command_id="import"'
    assert f'monitorkit_health{{{ids},health="STALE"}} 1.0' in text
    assert f'monitorkit_last_run_status{{{ids},status="STALE"}} 1.0' in text
    assert f'monitorkit_last_run_status{{{ids},status="RUNNING"}} 0.0' in text
    assert f"monitorkit_active_runs{{{ids}}} 0.0" in text  # stale: not active


def test_kiosk_and_refresh(admin_client, settings):
    settings.MONITORKIT_PAGE_REFRESH = 12
    history("export", [1])
    html = admin_client.get("/monitor/").content.decode()
    assert 'data-refresh-seconds="12"' in html and "<nav>" in html
    html = admin_client.get("/monitor/?kiosk=1&refresh=1").content.decode()
    assert 'data-refresh-seconds="1"' in html
    assert " kiosk" in html.split("<body class=")[1].split(">")[0]
    assert "<nav" not in html


def test_anonymous_is_sent_to_login(client):
    for url in ("/monitor/", "/monitor/commands/export/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=/monitor/")
    # The JSON is refused in JSON (tests/test_door.py), not sent to a login form.
    assert client.get("/monitor/api/overview.json").status_code == 401


def test_non_staff_and_staff_without_permission_are_refused(client, django_user_model):
    history("export", [1])
    user = django_user_model.objects.create_user("plain", password="x")
    client.force_login(user)
    assert client.get("/monitor/").status_code == 403
    user.is_staff = True
    user.save()
    assert client.get("/monitor/").status_code == 403  # staff, but not view_commandrun
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_commandrun"))
    user = django_user_model.objects.get(pk=user.pk)  # drop the permission cache
    client.force_login(user)
    assert client.get("/monitor/").status_code == 200
    assert client.get("/monitor/api/overview.json").status_code == 200


def test_user_input_is_escaped_everywhere(admin_client):
    failing("export", traceback=f"Traceback\n{XSS}")
    record = make_record("export", params=f"--name {XSS}", metadata={"note": XSS, XSS: 1})
    record.message = f"bad {XSS}"
    store(record, 1.0, Status.FAILED)
    for url in ("/monitor/", "/monitor/commands/export/"):
        html = admin_client.get(url).content.decode()
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = admin_client.get("/monitor/commands/export/").content.decode()
    assert "--name &lt;script&gt;" in html
    assert '<pre class="metadata">' in html
    run_url = re.findall(r'<a class="run-link" href="([^"]+)"', html)[1]  # the failed one
    html = admin_client.get(run_url).content.decode()
    assert "<script>alert" not in html
    assert '<pre class="traceback">Traceback\n&lt;script&gt;' in html


def test_command_page(admin_client):
    history("export", [100] * 19 + [400, 5])
    failing("export")
    html = admin_client.get("/monitor/commands/export/").content.decode()
    assert '<h1 class="command-id">export</h1>' in html
    assert '<section id="schedule">' in html and "No schedule is declared" in html
    assert '<p class="durations">' in html
    assert '<svg class="duration-chart"' in html and html.count("<rect ") == 22
    assert '<table id="history">' in html and html.count("<tr data-run-id=") == 22
    assert '<pre class="traceback">' not in html and "Traceback</a> on the run's page" in html
    assert '<span class="flag" data-flag="slow">slow</span>' in html
    assert '<span class="flag" data-flag="fast">suspiciously fast</span>' in html
    assert '<td class="exit-code" data-label="Exit code">1</td>' in html
    assert "OSError" in html


def test_command_page_paginates(admin_client):
    history("export", [1] * 30)
    first = admin_client.get("/monitor/commands/export/").content.decode()
    second = admin_client.get("/monitor/commands/export/?page=2").content.decode()
    assert first.count("<tr data-run-id=") == 25 and second.count("<tr data-run-id=") == 5
    assert "Page 1 of 2" in first and 'href="?page=2"' in first


def test_unknown_command_is_404(admin_client):
    assert admin_client.get("/monitor/commands/nothing/").status_code == 404
    assert admin_client.get("/monitor/api/commands/nothing.json").status_code == 404


def test_overview_json_shape(admin_client):
    history("export", [5, 5])
    failing("export")
    data = admin_client.get("/monitor/api/overview.json").json()
    assert set(data) == {"generated", "refresh_seconds", "watcher", "commands"}
    (command,) = data["commands"]
    assert set(command) == {
        "command_id",
        "health",
        "judged_by",
        "failures_in_row",
        "running",
        "next_expected",
        "recovering",
        "last_run",
        "progress",
        "recent",
        "url",
        "api_url",
        "snoozed",
        "snoozed_until",
    }
    assert command["health"] == "FAILING" and command["failures_in_row"] == 1
    assert command["judged_by"] == "reader"  # no watcher runs: the page judges
    assert command["running"] is False and command["last_run"]["running"] is False
    assert command["url"] == "/monitor/commands/export/"
    assert command["api_url"] == "/monitor/api/commands/export.json"
    assert command["last_run"]["status"] == "FAILED"
    assert command["last_run"]["message"] == "disk full"
    assert "traceback" not in command["last_run"]
    assert [o["status"] for o in command["recent"]] == ["FAILED", "FINISHED", "FINISHED"]
    assert set(command["recent"][0]) == {"run_id", "seq", "status", "started", "duration", "stale"}


def test_command_json_shape_and_flags(admin_client, settings):
    settings.MONITORKIT_SLOW_FACTOR = 2
    history("export", [10, 10, 10, 10, 10, 25, 0.5])
    data = admin_client.get("/monitor/api/commands/export.json").json()
    assert data["command_id"] == "export" and data["health"] == "OK"
    assert data["durations"] == {"finished_runs": 7, "p50": 10.0, "p95": pytest.approx(20.5)}
    assert data["slow_factor"] == 2 and data["fast_fraction"] == 0.1
    assert [run["flags"] for run in data["runs"]] == [["fast"], [], [], [], [], [], []]
    settings.MONITORKIT_SLOW_FACTOR = 1.1
    data = admin_client.get("/monitor/api/commands/export.json").json()
    assert data["runs"][1]["flags"] == ["slow"]  # 25 > 20.5 x 1.1
    assert "traceback" not in data["runs"][0] and "metadata" in data["runs"][0]
    assert data["runs"][0]["has_traceback"] is False and data["runs"][0]["has_output"] is False


def queries(admin_client, url: str) -> int:
    admin_client.get(url)  # the session is loaded once either way
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/monitor/", "/monitor/api/overview.json"])
def test_query_count_does_not_grow_with_command_ids(admin_client, url):
    for n in range(5):
        history(f"job_{n:02d}", [1, 2])
    few = queries(admin_client, url)
    for n in range(5, 50):
        history(f"job_{n:02d}", [1, 2])
    running("job_99")
    assert queries(admin_client, url) == few
    # The judge's inputs, the strip, the watcher's newest beat, the snoozes, the session.
    assert few <= 8


def test_metrics_need_the_token(client, settings):
    history("export", [1])
    assert client.get("/monitor/metrics").status_code == 404  # no token set: no endpoint
    settings.MONITORKIT_METRICS_TOKEN = "s3cret-token"
    response = client.get("/monitor/metrics")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/monitor/metrics", HTTP_AUTHORIZATION="Bearer s3cret-tokeX")
    assert wrong.status_code == 403
    assert b"s3cret" not in wrong.content


def test_metrics_parse_back(client, settings):
    from prometheus_client.parser import text_string_to_metric_families

    settings.MONITORKIT_METRICS_TOKEN = "s3cret-token"
    history("export", [5, 7])
    failing("export")
    history("import", [3])
    response = client.get("/monitor/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        labels.setdefault("command", labels["command_id"])  # the name beside the id
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("monitorkit_health", command_id="export", health="FAILING") == 1
    assert value("monitorkit_health", command_id="export", health="OK") == 0
    assert value("monitorkit_health", command_id="import", health="OK") == 1
    assert value("monitorkit_last_run_status", command_id="export", status="FAILED") == 1
    assert value("monitorkit_last_run_status", command_id="export", status="STALE") == 0
    assert value("monitorkit_last_duration_seconds", command_id="export") == 2.0
    assert value("monitorkit_runs_total", command_id="export") == 3
    assert value("monitorkit_kept_runs", command_id="export") == 3
    assert value("monitorkit_kept_failed_runs", command_id="export") == 1
    assert value("monitorkit_failures_in_row", command_id="export") == 1
    success = value("monitorkit_last_success_timestamp_seconds", command_id="export")
    assert abs(success - utcnow().timestamp()) < 4 * 3600
    openmetrics = client.get(
        "/monitor/metrics",
        HTTP_AUTHORIZATION="Bearer s3cret-token",
        HTTP_ACCEPT="application/openmetrics-text; version=1.0.0",
    )
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.content.rstrip().endswith(b"# EOF")


def test_metrics_without_prometheus_client_say_so(client, settings, monkeypatch):
    settings.MONITORKIT_METRICS_TOKEN = "s3cret-token"
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    response = client.get("/monitor/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 501
    assert b"monitorkit[metrics]" in response.content


# Problems first, counts that filter, a search (issue 19, item 1) ----------------------------------


def overview_ids(html: str) -> list[tuple[str, bool]]:
    """Return the overview's rows in order: (command id, shown)."""
    rows = re.findall(
        r'<tr data-command-id="([^"]+)" data-row-health="[A-Z]+"(?: data-problem)?( hidden)?>', html
    )
    return [(command_id, not hidden) for command_id, hidden in rows]


@pytest.fixture
def mixed() -> None:
    """Commands in every order but the one a person needs: ok, failing, running, new."""
    history("alpha_ok", [5])
    history("beta_failing", [5])
    failing("beta_failing")
    history("delta_ok", [5])
    running("gamma_running")
    history("zeta_failing", [5])
    failing("zeta_failing")


@pytest.mark.usefixtures("mixed")
def test_the_overview_puts_problems_first_in_the_page_and_its_json(admin_client):
    expected = ["beta_failing", "zeta_failing", "gamma_running", "alpha_ok", "delta_ok"]
    html = admin_client.get("/monitor/").content.decode()
    assert [command_id for command_id, _ in overview_ids(html)] == expected
    data = admin_client.get("/monitor/api/overview.json").json()
    assert [c["command_id"] for c in data["commands"]] == expected


@pytest.mark.usefixtures("mixed")
def test_the_counts_filter_and_the_search_narrows_from_the_url(admin_client):
    html = admin_client.get("/monitor/?health=FAILING").content.decode()
    shown = [command_id for command_id, visible in overview_ids(html) if visible]
    assert shown == ["beta_failing", "zeta_failing"]
    assert len(overview_ids(html)) == 5  # the others are drawn hidden: no request to undo
    counts = html.split('id="counts">')[1].split("</p>")[0]
    links = re.findall(
        r'<a class="count" href="([^"]*)" data-filter="([^"]*)"( aria-current)?', counts
    )
    assert [(f, bool(current)) for _, f, current in links] == [
        ("", False),
        ("problems", False),
        ("FAILING", True),
        ("RUNNING", False),
        ("OK", False),
    ]
    hrefs = {f: href for href, f, _ in links}
    assert hrefs["FAILING"] == "?"  # the current filter's link clears it
    assert hrefs["OK"] == "?health=OK"
    assert re.search(r'data-filter="problems">Problems <span class="n">2</span>', counts)

    html = admin_client.get("/monitor/?q=OK&kiosk=1").content.decode()
    shown = [command_id for command_id, visible in overview_ids(html) if visible]
    assert shown == ["alpha_ok", "delta_ok"]  # any case
    assert 'href="?kiosk=1&amp;health=OK&amp;q=OK"' in html  # the view's options are kept
    assert 'value="OK"' in html.split('id="search"')[1].split(">")[0]

    html = admin_client.get("/monitor/?health=problems&q=zeta").content.decode()
    assert [c for c, visible in overview_ids(html) if visible] == ["zeta_failing"]
    assert 'id="no-match" class="hint" hidden' in html
    html = admin_client.get("/monitor/?health=NEW").content.decode()
    assert not [c for c, visible in overview_ids(html) if visible]
    assert 'id="no-match" class="hint">' in html  # says that nothing matches
    html = admin_client.get("/monitor/?health=<script>").content.decode()
    assert all(visible for _, visible in overview_ids(html))  # an unknown health filters nothing


# Words, not notation (issue 19, item 4) ---------------------------------------------------------


@pytest.mark.parametrize(
    "seconds,text",
    [
        (0.0, "< 10 ms"),
        (0.0049, "< 10 ms"),
        (0.0105, "11 ms"),
        (0.42, "420 ms"),
        (0.9996, "1.0 s"),
        (1.25, "1.3 s"),  # halves round up, as live.js rounds them
        (9.96, "10 s"),
        (42.5, "43 s"),
        (300, "5 min"),
        (305, "5 min 5 s"),
        (3599.6, "1 h"),
        (7800, "2 h 10 min"),
        (86400, "1 d"),
        (90000, "1 d 1 h"),
        (None, ""),
    ],
)
def test_durations_are_said_in_the_unit_their_size_wants(seconds, text):
    from monitorkit.words import human_duration

    assert human_duration(seconds) == text


def test_ids_wrap_between_their_words_and_stay_escaped():
    from monitorkit.web.views.page import wrapped_id

    assert wrapped_id("import_orders__count_20") == "import_<wbr>orders__<wbr>count_<wbr>20"
    assert wrapped_id("a<b>-c") == "a&lt;b&gt;-<wbr>c"


def test_a_schedule_is_shown_in_words_beside_its_cron(admin_client, settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "sync_stock": {"schedule": "*/10 * * * *", "start_margin": 300, "max_runtime": 90},
        "nightly_job": {"schedule": 6 * 3600},
    }
    history("sync_stock", [0.004, 2.5])
    html = admin_client.get("/monitor/commands/sync_stock/").content.decode()
    schedule = html.split('id="schedule"')[1].split("</section>")[0]
    assert "Every 10th minute of every hour <code>*/10 * * * *</code>" in schedule
    assert '<dd class="start-margin">5 min</dd>' in schedule
    assert '<dd class="max-runtime">1 min 30 s</dd>' in schedule
    assert '<h1 class="command-id">sync_<wbr>stock</h1>' in html
    durations = html.split('class="durations"')[1].split("</p>")[0]
    assert '<strong class="p50">1.3 s</strong>' in durations
    assert '<td class="duration" data-label="Duration">&lt; 10 ms</td>' in html
    html = admin_client.get("/monitor/commands/nightly_job/").content.decode()
    assert "Every 6 h <code>21600" in html


# --- Phones and wall screens (issue 19, item 5) ---------------------------------------------


def favicon_href(html: str) -> str:
    found = re.search(r'<link rel="icon" id="favicon" type="image/svg\+xml" href="([^"]+)"', html)
    assert found, "no inline favicon"
    return found.group(1)


def test_the_tab_title_counts_problems_and_the_icon_is_the_worst_healths(admin_client):
    store(make_record("fine"), 1.0)
    html = admin_client.get("/monitor/").content.decode()
    assert "<title>Commands · monitorkit</title>" in html
    assert favicon_href(html).startswith("data:image/svg+xml,") and "1a7f37" in favicon_href(html)

    failing("export")
    failing("import_orders")
    html = admin_client.get("/monitor/").content.decode()
    assert "<title>(2) Commands · monitorkit</title>" in html
    assert "cf222e" in favicon_href(html)
    command_page = admin_client.get("/monitor/commands/fine/").content.decode()
    assert "1a7f37" in favicon_href(command_page)  # a command page: its own health


def test_the_kiosk_counts_what_is_not_a_problem_and_marks_the_problems(admin_client):
    store(make_record("fine"), 1.0)
    store(make_record("also_fine"), 1.0)
    html = admin_client.get("/monitor/?kiosk=1").content.decode()
    assert '<p id="kiosk-summary" class="kiosk-summary calm">All 2 commands OK</p>' in html
    assert " data-problem>" not in html.split('id="row-template"')[0]

    failing("export")
    html = admin_client.get("/monitor/?kiosk=1").content.decode()
    assert '<p id="kiosk-summary" class="kiosk-summary">2 OK</p>' in html
    assert re.search(r'<tr data-command-id="export" data-row-health="FAILING" data-problem>', html)
    assert "kiosk-summary" not in admin_client.get("/monitor/").content.decode()
