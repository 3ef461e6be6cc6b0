"""The status page in a real browser (Debian's Chromium through Playwright) against
pytest-django's ``live_server``: what a person sees, what updates by itself, who gets in, and that
what users control stays text.

Runs are written by the real store (``DatabaseReporter``) or by a real monitored command
(``call_command``). Each test saves a screenshot in ``tests/browser/screenshots/``; with
``MONITORKIT_DOCS_SCREENSHOT=<path>`` the overview's is also copied there
(``scripts/docs-screenshot`` refreshes ``docs/images/status-page.png`` this way).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.stores.health_store import WatcherBeat
from tests.browser.conftest import PASSWORD, REQUIRE_ENV, screenshot

try:
    from playwright.sync_api import expect
except ImportError as err:  # the browser fixture says the same, as a skip or a failure
    if os.environ.get(REQUIRE_ENV) == "1":
        raise
    pytest.skip(f"the playwright package is missing ({err})", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS_SCREENSHOT_ENV = "MONITORKIT_DOCS_SCREENSHOT"
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=2">'


def url(live_server: Any, name: str = "overview", *args: str, query: str = "") -> str:
    return (
        live_server.url + reverse(f"monitorkit:{name}", args=args) + (f"?{query}" if query else "")
    )


def make_record(command_id: str, **fields: Any) -> RunRecord:
    now = utcnow()
    values: dict[str, Any] = {
        "id": command_id,
        "name": command_id.split("__")[0],
        "params": "",
        "run_id": uuid.uuid4().hex,
        "host": "web-1",
        "pid": 4242,
        "started": now,
        "latest": now,
    }
    values.update(fields)
    return RunRecord(**values)


def store_run(
    reporter: DatabaseReporter,
    command_id: str,
    ago: float,
    took: float,
    status: Status = Status.FINISHED,
    **fields: Any,
) -> RunRecord:
    """Store one finished run that started ``ago`` seconds ago and took ``took`` seconds."""
    started = utcnow() - dt.timedelta(seconds=ago)
    record = make_record(command_id, started=started, latest=started, **fields)
    reporter.write(record)
    record.status = status
    record.finished = record.latest = started + dt.timedelta(seconds=took)
    record.exit_code = 0 if status is Status.FINISHED else 1
    record.message = fields.get("message", "Command finished")
    reporter.write(record)
    return record


def seed_shop(reporter: DatabaseReporter) -> RunRecord:
    """A small shop's commands: one fine, one failing, one running; return the running one."""
    hour = 3600.0
    for i in range(14):
        store_run(
            reporter,
            "send_newsletter__segment_vip",
            (14 - i) * 6 * hour - 5 * hour,
            1.5 + (i % 4) * 0.3,
            params="--segment=vip",
        )
    for i in range(10):
        failed = i >= 8
        store_run(
            reporter,
            "sync_inventory",
            (10 - i) * hour,
            4.0 + (i % 3),
            Status.FAILED if failed else Status.FINISHED,
            message="ConnectionError: the inventory API is unreachable" if failed else "Done",
            exception_type="ConnectionError" if failed else None,
            traceback="Traceback (most recent call last):\n  ...\nConnectionError"
            if failed
            else None,
        )
    for i in range(12):
        store_run(
            reporter,
            "import_orders__count_20",
            (12 - i) * 2 * hour,
            38 + (i % 5) * 2,
            params="--count=20",
        )
    running = make_record(
        "import_orders__count_20",
        params="--count=20",
        started=utcnow() - dt.timedelta(seconds=25),
        status=Status.RUNNING,
        message="Command running",
        progress={"done": 12, "total": 20},
    )
    reporter.write(running)
    reporter.write(running)
    return running


def test_the_overview_shows_a_failing_command_as_failing(page, live_server, settings):
    # The shop's own schedule, and none for the test project's scheduled_command: this
    # page is also the picture in the docs.
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "send_newsletter__segment_vip": {"schedule": 6 * 3600},
    }
    seed_shop(DatabaseReporter())
    watcher_ran_just_now()  # the docs' picture: a watched project, no banner

    page.goto(url(live_server))
    expect(page.locator("#watcher-banner")).to_be_hidden()

    failing = page.locator('tr[data-command-id="sync_inventory"]')
    expect(failing.locator(".health .badge")).to_have_text("FAILING")
    expect(failing.locator(".health .badge")).to_have_attribute("data-health", "FAILING")
    expect(failing.locator(".last-status")).to_have_text("FAILED")
    expect(failing.locator(".message")).to_contain_text("the inventory API is unreachable")
    expect(failing.locator(".strip .outcome")).to_have_count(10)
    expect(failing.locator('.strip .outcome[data-status="FAILED"]')).to_have_count(2)
    fine = page.locator('tr[data-command-id="send_newsletter__segment_vip"]')
    expect(fine.locator(".health .badge")).to_have_text("OK")
    expect(fine.locator(".next-run time")).not_to_be_empty()
    running = page.locator('tr[data-command-id="import_orders__count_20"]')
    expect(running.locator(".health .badge")).to_have_text("RUNNING")
    expect(running.locator(".progress-text")).to_contain_text("12 / 20")
    path = screenshot(page, "overview")
    if os.environ.get(DOCS_SCREENSHOT_ENV):
        shutil.copyfile(path, os.environ[DOCS_SCREENSHOT_ENV])


def watcher_ran_just_now() -> None:
    store = DatabaseReporter().health_store()
    store.record_cycle(WatcherBeat("browser-test", "worker-1", 812, utcnow(), 60.0, 1))


def test_the_watchers_banner_comes_and_goes_without_a_reload(page, live_server, settings):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_ALERTS = {"webhook": {"url": "https://hooks.example.com/alerts"}}
    seed_shop(DatabaseReporter())
    page.goto(url(live_server, query="refresh=1"))
    banner = page.locator("#watcher-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text("Watcher silent. No watcher has ever run")
    screenshot(page, "watcher-silent")
    page.evaluate("window.__loadedOnce = 'still here'")

    watcher_ran_just_now()
    expect(banner).to_be_hidden()
    assert page.evaluate("window.__loadedOnce") == "still here"


def test_a_running_commands_progress_advances_without_a_reload(page, live_server):
    reporter = DatabaseReporter()
    record = make_record(
        "import_orders__count_10",
        status=Status.RUNNING,
        message="Command running",
        progress={"done": 3, "total": 10},
    )
    reporter.write(record)
    reporter.write(record)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    page.goto(url(live_server, query="refresh=1"))
    row = page.locator('tr[data-command-id="import_orders__count_10"]')
    expect(row.locator(".progress-text")).to_contain_text("3 / 10")
    page.evaluate("window.__loadedOnce = 'still here'")
    loads = len(navigations)

    for done in (6, 9):
        record.progress = {"done": done, "total": 10}
        record.latest = utcnow()
        reporter.write(record)
        expect(row.locator(".progress-text")).to_contain_text(f"{done} / 10")
        expect(row.locator("progress.run-progress")).to_have_attribute("value", str(done))

    assert page.evaluate("window.__loadedOnce") == "still here"
    assert len(navigations) == loads, navigations
    screenshot(page, "progress")


def test_a_run_that_stops_beating_turns_stale_without_a_reload(page, live_server, settings):
    """live.js shows the judge's STALE in the row and the strip, and drops the progress."""
    settings.MONITORKIT_STALE_AFTER = 60
    reporter = DatabaseReporter()
    record = make_record(
        "import_orders__count_10",
        status=Status.RUNNING,
        message="Command running",
        progress={"done": 3, "total": 10},
    )
    reporter.write(record)
    page.goto(url(live_server, query="refresh=0.5"))
    row = page.locator('tr[data-command-id="import_orders__count_10"]')
    expect(row.locator(".last-status")).to_have_text("RUNNING")
    expect(row.locator(".progress-text")).to_contain_text("3 / 10")

    record.started = record.latest = utcnow() - dt.timedelta(minutes=10)  # silent since
    reporter.write(record)
    expect(row.locator(".health .badge")).to_have_text("STALE")
    expect(row.locator(".last-status")).to_have_text("STALE")
    expect(row.locator(".last-status")).to_have_attribute("data-status", "STALE")
    expect(row.locator('.strip .outcome[data-status="STALE"]')).to_have_count(1)
    expect(row.locator(".progress")).to_be_empty()
    expect(row.locator(".message")).to_contain_text("No heartbeat since")  # not "Command running"


def test_a_runs_link_leads_from_the_history_to_its_page_and_traceback(page, live_server):
    with pytest.raises(ValueError, match="boom"):
        call_command("fail_command", kind="value")
    (run,) = DatabaseReporter().latest_runs()
    assert run.status is Status.FAILED, run

    page.goto(url(live_server, "command", run.id))

    expect(page.locator("h1.command-id")).to_have_text(run.id)
    history = page.locator(f'#history tr[data-run-id="{run.run_id}"]')
    expect(history.locator(".status-text")).to_have_text("FAILED")
    # The history lists, the run's page tells: no traceback here, a link to it.
    expect(history.locator("pre.traceback")).to_have_count(0)
    expect(history.locator(".has-traceback a")).to_have_text("Traceback")
    screenshot(page, "history")

    history.locator("a.run-link").click()

    page.wait_for_url(re.compile(rf"/runs/{run.run_id}/$"))
    expect(page.locator("dd.outcome .status-text")).to_have_text("FAILED")
    expect(page.locator("details#traceback")).to_have_attribute("open", "")
    traceback = page.locator("details#traceback pre.traceback")
    expect(traceback).to_be_visible()
    expect(traceback).to_contain_text("Traceback (most recent call last)")
    expect(traceback).to_contain_text("ValueError: boom: the input is bad")
    expect(traceback).to_contain_text("fail_command.py")
    screenshot(page, "run")


def test_the_historys_metadata_is_folded_until_opened(page, live_server):
    store_run(DatabaseReporter(), "folded", 60, 1, Status.FAILED, metadata={"rows": 17})

    page.goto(url(live_server, "command", "folded"))

    folded = page.locator("#history details.metadata-details")
    expect(folded).not_to_have_attribute("open", "")
    expect(folded.locator("pre.metadata")).to_be_hidden()
    folded.locator("summary").click()
    expect(folded.locator("pre.metadata")).to_be_visible()
    expect(folded.locator("pre.metadata")).to_contain_text('"rows": 17')


def test_an_anonymous_visitor_is_sent_to_the_login(anonymous_page, staff, live_server, settings):
    settings.LOGIN_URL = "/admin/login/"  # the test project's only login form
    page = anonymous_page

    page.goto(url(live_server))

    where = urlsplit(page.url)
    assert where.path == "/admin/login/", page.url
    assert parse_qs(where.query)["next"] == [reverse("monitorkit:overview")], page.url
    expect(page.locator("#overview")).to_have_count(0)
    screenshot(page, "login")
    # ...and, logged in, comes back to the page.
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("table#overview")).to_be_visible()
    assert urlsplit(page.url).path == reverse("monitorkit:overview")


def test_markup_in_params_and_message_is_shown_as_text(page, live_server):
    reporter = DatabaseReporter()
    params = f"--note={XSS_SCRIPT}{XSS_IMG}"
    message = f"failed on {XSS_IMG} {XSS_SCRIPT}"
    payload = {
        "params": params,
        "message": message,
        "exception_type": "ValueError",
        "traceback": f"Traceback (most recent call last):\nValueError: {XSS_SCRIPT}",
        "metadata": {"note": XSS_IMG},
    }
    # The server renders the first run; the page's script then writes the payload into that
    # row (a new message) and into a row it adds (a new command id).
    store_run(reporter, "xss_probe", 120, 1, message="Command finished")
    page.goto(url(live_server, query="refresh=1"))
    expect(page.locator('tr[data-command-id="xss_probe"] .message')).to_have_text(
        "Command finished"
    )
    page.evaluate("window.__loadedOnce = 'still here'")
    store_run(reporter, "xss_probe", 60, 1, Status.FAILED, **payload)
    store_run(reporter, "xss_probe_new", 60, 1, Status.FAILED, **payload)

    for command_id in ("xss_probe", "xss_probe_new"):
        row = page.locator(f'tr[data-command-id="{command_id}"]')
        expect(row.locator(".message")).to_have_text(message)
        expect(row.locator("img, script")).to_have_count(0)
    assert page.evaluate("window.__loadedOnce") == "still here"  # the script did it, no reload
    assert page.evaluate("typeof window.__xss") == "undefined"
    screenshot(page, "xss-overview")

    page.goto(url(live_server, "command", "xss_probe"))
    details = page.locator('#history tr[data-status="FAILED"] .details')
    expect(details.locator(".message")).to_have_text(message)
    expect(details.locator(".params")).to_contain_text(params)
    expect(details.locator(".metadata")).to_contain_text("onerror")
    expect(details.locator("img, script")).to_have_count(0)
    assert page.evaluate("typeof window.__xss") == "undefined"
    screenshot(page, "xss-history")
    details.locator("xpath=..").locator("a.run-link").click()
    expect(page.locator("pre.traceback")).to_contain_text(XSS_SCRIPT)
    expect(page.locator("pre.metadata")).to_contain_text("onerror")
    expect(page.locator("#run img, #run script")).to_have_count(0)
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_the_kiosk_mode_loads_without_navigation(page, live_server):
    store_run(DatabaseReporter(), "send_newsletter__segment_vip", 60, 2, params="--segment=vip")

    page.goto(url(live_server))
    expect(page.locator("nav")).to_have_count(1)
    normal_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")

    page.goto(url(live_server, query="kiosk=1"))
    expect(page.locator("body")).to_have_class(_has_class("kiosk"))
    expect(page.locator("nav")).to_have_count(0)
    expect(page.locator('tr[data-command-id="send_newsletter__segment_vip"] .badge')).to_have_text(
        "OK"
    )
    assert float(page.locator("body").get_attribute("data-refresh-seconds") or 0) > 0
    kiosk_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert kiosk_size > normal_size, (kiosk_size, normal_size)
    screenshot(page, "kiosk")


def _has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def shown_rows(page: Any) -> list[str]:
    """Return the command ids of the overview's visible rows, top to bottom."""
    return page.eval_on_selector_all(
        "#overview tbody tr[data-command-id]",
        "rows => rows.filter(r => !r.hidden).map(r => r.getAttribute('data-command-id'))",
    )


def test_problems_come_first_and_the_counts_and_search_filter_in_place(page, live_server, settings):
    """Problems first; a count filters, the search narrows, both in the URL, without a reload;
    a command whose health changes moves to its place in the next live update."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    reporter = DatabaseReporter()
    for command_id in ("alpha_job", "beta_job", "gamma_job"):
        store_run(reporter, command_id, 600, 1.0)
    store_run(reporter, "zeta_job", 600, 1.0, Status.FAILED, message="boom")
    page.goto(url(live_server, query="refresh=0.5"))
    assert shown_rows(page) == ["zeta_job", "alpha_job", "beta_job", "gamma_job"]
    page.evaluate("window.__loadedOnce = 'still here'")  # gone if the page reloads

    page.locator('#counts a.count[data-filter="FAILING"]').click()
    expect(page.locator('#overview tr[data-command-id="alpha_job"]')).to_be_hidden()
    assert shown_rows(page) == ["zeta_job"]
    assert parse_qs(urlsplit(page.url).query) == {"refresh": ["0.5"], "health": ["FAILING"]}
    expect(page.locator('#counts a.count[data-filter="FAILING"]')).to_have_attribute(
        "aria-current", "true"
    )

    page.locator('#counts a.count[data-filter=""]').click()  # All
    page.locator("#search").fill("BETA")
    expect(page.locator('#overview tr[data-command-id="alpha_job"]')).to_be_hidden()
    assert shown_rows(page) == ["beta_job"]
    assert parse_qs(urlsplit(page.url).query) == {"refresh": ["0.5"], "q": ["BETA"]}
    expect(page.locator('#counts a.count[data-filter=""] .n')).to_have_text("1")
    page.locator("#search").fill("nothing like it")
    expect(page.locator("#no-match")).to_be_visible()
    page.locator("#search").fill("")
    expect(page.locator("#no-match")).to_be_hidden()
    assert page.evaluate("window.__loadedOnce") == "still here"  # all without a reload

    store_run(reporter, "gamma_job", 5, 1.0, Status.FAILED, message="boom")  # it fails now
    expect(page.locator("#overview tbody tr[data-command-id]").nth(0)).to_have_attribute(
        "data-command-id", "gamma_job"
    )
    assert shown_rows(page) == ["gamma_job", "zeta_job", "alpha_job", "beta_job"]
    expect(page.locator('#counts a.count[data-filter="problems"] .n')).to_have_text("2")

    page.goto(url(live_server, query="health=problems"))  # a bookmark of the filtered view
    assert shown_rows(page) == ["gamma_job", "zeta_job"]
    screenshot(page, "overview-problems")


@pytest.fixture
def berlin_page(browser: Any, staff: Any, live_server: Any) -> Any:
    """A signed-in page whose browser lives in Berlin (UTC+1 in winter, +2 in summer)."""
    from tests.browser.conftest import signed_in_page

    page = signed_in_page(browser, staff, live_server, timezone_id="Europe/Berlin")
    try:
        yield page
    finally:
        page.context.close()


def without_ages(page: Any, selector: str) -> str:
    """Return the HTML of ``selector`` with the ages ("5s ago", they move on) left out."""
    return page.eval_on_selector(
        selector,
        "node => { const c = node.cloneNode(true);"
        " c.querySelectorAll('.ago').forEach(a => a.textContent = ''); return c.outerHTML; }",
    )


def test_times_are_in_the_viewers_zone_and_a_live_update_draws_what_a_reload_does(
    berlin_page, live_server, settings
):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    reporter = DatabaseReporter()
    first = store_run(reporter, "import_orders__count_20", 3600, 0.004)
    berlin_page.goto(url(live_server, query="refresh=0.5"))
    row = berlin_page.locator('tr[data-command-id="import_orders__count_20"]')
    started = row.locator(".started time")
    berlin = first.started.astimezone(dt.timezone(dt.timedelta(hours=1)))  # December: CET
    expect(started).to_have_text(re.compile(berlin.strftime("^%Y-%m-%d %H:%M:%S ")))
    expect(started).to_have_attribute("title", first.started.strftime("%Y-%m-%d %H:%M:%S UTC"))
    expect(row.locator(".duration")).to_have_text("< 10 ms")
    assert "import_<wbr>orders__<wbr>count_<wbr>20" in row.locator(".command-id a").inner_html()

    newer = store_run(reporter, "import_orders__count_20", 60, 125.0, Status.FAILED)
    expect(row.locator(".duration")).to_have_text("2 min 5 s")  # the live update
    berlin_time = newer.started.astimezone(dt.timezone(dt.timedelta(hours=1)))
    expect(started).to_have_text(re.compile(berlin_time.strftime("^%Y-%m-%d %H:%M:%S ")))
    live = without_ages(berlin_page, 'tr[data-command-id="import_orders__count_20"]')
    counts = without_ages(berlin_page, "#counts")
    berlin_page.reload()
    expect(row.locator(".duration")).to_have_text("2 min 5 s")
    expect(started).to_have_attribute("title", newer.started.strftime("%Y-%m-%d %H:%M:%S UTC"))
    assert without_ages(berlin_page, 'tr[data-command-id="import_orders__count_20"]') == live
    assert without_ages(berlin_page, "#counts") == counts


def test_the_timeline_names_a_run_to_the_keyboard(page, live_server):
    """Each stored run of the last 24 hours is a mark; Tab reaches one, and its title names it."""
    reporter = DatabaseReporter()
    hour = 3600.0
    for ago in (20 * hour, 10 * hour, 3 * hour):
        store_run(reporter, "timeline_job", ago, 4.0)
    store_run(reporter, "timeline_job", 22 * hour, 2.0, Status.FAILED, message="boom")  # the 4th
    store_run(reporter, "timeline_job", 30 * hour, 4.0)  # before the 24 hours
    missed_at = utcnow() - dt.timedelta(hours=6)
    missed = make_record("timeline_job", started=missed_at, latest=missed_at, finished=missed_at)
    missed.status, missed.pid = Status.MISSED, None
    reporter.write(missed)

    page.goto(url(live_server, "command", "timeline_job"))

    day_ago = utcnow() - dt.timedelta(hours=24)
    stored = [r for r in reporter.command_history("timeline_job") if r.started >= day_ago]
    assert len(stored) == 5
    expect(page.locator("svg.timeline g.mark")).to_have_count(len(stored))
    expect(page.locator('svg.timeline g.mark[data-status="MISSED"]')).to_have_count(1)
    expect(page.locator('svg.timeline g.mark[data-status="FAILED"]')).to_have_count(1)
    page.locator('.timeline-windows a[data-window="7d"]').focus()
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.getAttribute('data-status'),"
        " document.activeElement.querySelector('title').textContent]"
    )
    assert focused[0] == "FAILED"  # the oldest run of the window comes first
    assert re.fullmatch(r"#4 · FAILED · \S+ \S+ UTC · 2.0 s", focused[1]), focused
    # A <title> shows on hover only: focus shows the mark's own label, hidden otherwise.
    expect(page.locator("svg.timeline g.mark:focus text.label")).to_be_visible()
    expect(page.locator("svg.timeline g.mark:focus text.label")).to_have_text(focused[1])
    expect(page.locator("svg.timeline g.mark:not(:focus) text.label").first).to_be_hidden()
    label = page.locator("svg.timeline g.mark:focus text.label").bounding_box()
    chart = page.locator("svg.timeline").bounding_box()
    assert label and chart and chart["x"] <= label["x"], (label, chart)  # not cut off
    screenshot(page, "timeline-focus")
    page.locator('.timeline-windows a[data-window="7d"]').click()
    expect(page.locator('svg.timeline[data-window="7d"] g.mark')).to_have_count(6)
    expect(page.locator('.timeline-windows a[aria-current="true"]')).to_have_text("7 days")
    screenshot(page, "timeline")


def test_the_link_in_a_real_alert_e_mail_opens_the_run_s_page(
    page, live_server, settings, smtp_server
):
    """The watcher's e-mail, through a real SMTP server, links to the failed run's own page."""
    import email
    import email.policy

    from monitorkit.alerts.config import notifiers_from_settings
    from monitorkit.health.watch import Watcher

    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_ALERTS = {"email": {"to": ["ops@example.com"]}}
    settings.MONITORKIT_BASE_URL = live_server.url + reverse("monitorkit:overview")
    reporter = DatabaseReporter()
    store_run(reporter, "nightly_import", 7200, 3.0)
    failed = store_run(
        reporter,
        "nightly_import",
        60,
        2.0,
        Status.FAILED,
        message="ValueError: row 7 is not a date",
        exception_type="ValueError",
        traceback='Traceback (most recent call last):\n  File "import.py", line 7\nValueError',
    )
    store = reporter.health_store()
    Watcher(reporter, store, notifiers_from_settings()).cycle()

    (envelope,) = smtp_server.envelopes
    body = email.message_from_bytes(envelope.content, policy=email.policy.default).get_content()
    (link,) = re.findall(r"Status page: (\S+)", body)
    assert failed.run_id in link
    page.goto(link)
    expect(page.locator("h1")).to_contain_text("nightly_import")
    traceback = page.locator("details", has_text="Traceback")
    expect(traceback).to_have_attribute("open", "")
    expect(traceback).to_contain_text("ValueError")
    expect(page.locator("main")).to_contain_text("row 7 is not a date")
