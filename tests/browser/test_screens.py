"""Phones and wall screens (issue 19, item 5): no page scrolls sideways at 360-430 px, light or
dark; the kiosk shows problems large and counts the rest, at 1080p and 4K, and stays live; the
tab's title and icon follow the number of problems; a live update draws what a reload does.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from monitorkit.record import Status, utcnow
from monitorkit.stores.database.runs import DatabaseReporter
from tests.browser.conftest import REQUIRE_ENV, screenshot, signed_in_page
from tests.browser.test_status_page import make_record, seed_shop, store_run, url, without_ages

try:
    from playwright.sync_api import expect
except ImportError as err:  # the browser fixture says the same, as a skip or a failure
    if os.environ.get(REQUIRE_ENV) == "1":
        raise
    pytest.skip(f"the playwright package is missing ({err})", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_ID = "reconcile_supplier_invoices_against_purchase_orders__supplier_acme_wholesale_gmbh"
LONG_MESSAGE = (
    "ValueError: the supplier's file /srv/imports/acme/2026/12/invoices-full-export-v2.csv has "
    "a column nobody_expected_this_column_name_to_be_this_long_without_any_break and stopped"
)
WIDTHS = [360, 390, 430]
SCHEMES = ["light", "dark"]


def new_page(browser: Any, user: Any, live_server: Any, **options: Any) -> Any:
    """Return a signed-in page of a new context (``options``: viewport, colour scheme)."""
    return signed_in_page(browser, user, live_server, **options)


@pytest.fixture
def screens(browser: Any) -> Iterator[list[Any]]:
    """The pages a test opens, their contexts closed after it."""
    pages: list[Any] = []
    try:
        yield pages
    finally:
        for opened in pages:
            opened.context.close()


@pytest.fixture
def crowded_shop(settings: Any) -> None:
    """The shop, and what pushes a narrow page wider: a declared schedule ("Declared in ..."),
    a long command id, a long message, a running command with a long progress text and ETA."""
    settings.MONITORKIT_SCHEDULES = {
        "send_newsletter__segment_vip": {"schedule": 6 * 3600},
        LONG_ID: {
            "schedule": "*/10 * * * *",
            "owner": "data-platform-oncall-rotation@example.com",
            "runbook": "https://wiki.example.com/runbooks/synchronise_supplier_inventory_feeds",
        },
    }
    reporter = DatabaseReporter()
    seed_shop(reporter)
    store_run(reporter, LONG_ID, 600, 3.0, Status.FAILED, message=LONG_MESSAGE)
    running = make_record(
        "rebuild_search_index__all_languages",
        started=utcnow() - dt.timedelta(seconds=300),
        status=Status.RUNNING,
        message="Command running",
        progress={"done": 1234567, "total": 9876543},
    )
    reporter.write(running)
    reporter.write(running)


def widest(page: Any) -> list[str]:
    """Return the elements that reach past the window's right edge (what a failure names)."""
    return page.evaluate(
        "[...document.querySelectorAll('body *')].filter(n => n.getBoundingClientRect().right"
        " > window.innerWidth + 1).slice(-5).map(n => n.tagName + '.' + n.className + ' '"
        " + Math.round(n.getBoundingClientRect().right))"
    )


def overflow(page: Any) -> tuple[int, int]:
    """Return the page's scroll width and the window's width."""
    return page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")


PAGES = [
    ("overview", (), ""),
    ("overview", (), "kiosk=1"),
    ("command", ("send_newsletter__segment_vip",), ""),
    ("command", (LONG_ID,), ""),
    ("command", ("rebuild_search_index__all_languages",), ""),
]


@pytest.mark.usefixtures("crowded_shop")
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways_on_a_phone(
    browser, staff, live_server, screens, width, scheme, django_user_model, monkeypatch
):
    viewport = {"width": width, "height": 844}
    phone = new_page(browser, staff, live_server, viewport=viewport, color_scheme=scheme)
    screens.append(phone)
    for name, args, query in PAGES:
        phone.goto(url(live_server, name, *args, query=query))
        expect(phone.locator("main")).to_be_visible()
        scrolled, wide = overflow(phone)
        assert scrolled <= wide, (name, args, query, scrolled, wide, widest(phone))
        if args == (LONG_ID,):  # its long owner and runbook are there, and fit too
            expect(phone.locator("dd.runbook a")).to_be_visible()
    screenshot(phone, f"phone-{width}-{scheme}-command")
    phone.goto(url(live_server))
    screenshot(phone, f"phone-{width}-{scheme}-overview")

    from monitorkit.web.views import overview

    monkeypatch.setattr(overview, "store", lambda: None)  # the unavailable page
    phone.goto(url(live_server))
    expect(phone.locator("h1")).to_have_text("The runs cannot be read just now")
    assert overflow(phone)[0] <= overflow(phone)[1]
    monkeypatch.undo()

    ops = django_user_model.objects.create_user(
        "ops_with_a_rather_long_user_name_for_a_phone@example.com", password="x", is_staff=True
    )
    refused = new_page(browser, ops, live_server, viewport=viewport, color_scheme=scheme)
    screens.append(refused)
    refused.goto(url(live_server))
    expect(refused.locator("h1")).to_have_text("You may not see the command runs")
    scrolled, wide = overflow(refused)
    assert scrolled <= wide, ("forbidden", scrolled, wide)


def cut_cards(page: Any) -> list[str]:
    """Return the kiosk's problem cards (and their cells) whose content is wider than they are."""
    return page.eval_on_selector_all(
        "#overview tr[data-problem], #overview tr[data-problem] td",
        "nodes => nodes.filter(n => n.offsetParent && n.scrollWidth > n.clientWidth)"
        ".map(n => n.outerHTML.slice(0, 80))",
    )


def visible_rows(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#overview tbody tr[data-command-id]",
        "rows => rows.filter(r => r.offsetParent !== null).map(r => r.dataset.commandId)",
    )


@pytest.mark.usefixtures("crowded_shop")
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (1440, 900)])
def test_the_wall_screen_shows_problems_large_and_counts_the_rest(
    browser, staff, live_server, screens, size, scheme
):
    wall = new_page(
        browser,
        staff,
        live_server,
        viewport={"width": size[0], "height": size[1]},
        color_scheme=scheme,
    )
    screens.append(wall)
    wall.goto(url(live_server, query="kiosk=1"))
    assert sorted(visible_rows(wall)) == sorted([LONG_ID, "sync_inventory"])
    expect(wall.locator("#kiosk-summary")).to_have_text("2 running, 1 OK, 1 new")
    # Readable across a room: the id in type at least 2.2% of the screen's height.
    id_size = wall.eval_on_selector(
        f'tr[data-command-id="{LONG_ID}"] td.command-id',
        "n => parseFloat(getComputedStyle(n).fontSize)",
    )
    assert id_size >= size[1] * 0.022, (id_size, size)
    card = wall.locator(f'tr[data-command-id="{LONG_ID}"]')
    expect(card.locator("td.message")).to_be_visible()
    expect(card.locator("td.started")).to_be_visible()
    for cell in ("duration", "host", "next-run", "strip"):  # what a room need not read
        expect(card.locator(f"td.{cell}")).to_be_hidden()
    assert cut_cards(wall) == []
    scrolled, wide = overflow(wall)
    assert scrolled <= wide
    screenshot(wall, f"kiosk-{size[0]}x{size[1]}-{scheme}")


def test_the_calm_wall_screen_says_nothing_is_wrong(browser, staff, live_server, screens):
    reporter = DatabaseReporter()
    for command_id in ("alpha_job", "beta_job", "gamma_job"):
        store_run(reporter, command_id, 600, 1.0)
    wall = new_page(browser, staff, live_server, viewport={"width": 1920, "height": 1080})
    screens.append(wall)
    wall.goto(url(live_server, query="kiosk=1&refresh=0.5"))
    summary = wall.locator("#kiosk-summary")
    expect(summary).to_have_text("Nothing wrong: 3 OK, 1 new")  # scheduled_command is NEW
    assert visible_rows(wall) == []
    assert (
        wall.eval_on_selector("#kiosk-summary", "n => parseFloat(getComputedStyle(n).fontSize)")
        > 60
    )
    screenshot(wall, "kiosk-calm")

    wall.evaluate("window.__loadedOnce = 'still here'")
    # Its start and its end in one transaction. The live server shares the test's connection
    # (an in-memory SQLite database), so a poll can still land between the two writes and draw
    # the row from the start and the strip from the end (two reads): the card is compared once
    # a poll has drawn the end ("boom"), which every later poll and the reload draw too.
    with transaction.atomic():
        store_run(reporter, "beta_job", 5, 1.0, Status.FAILED, message="boom")  # it fails now
    expect(summary).to_have_text("2 OK, 1 new")
    expect(wall.locator('tr[data-command-id="beta_job"]')).to_be_visible()
    expect(wall.locator('tr[data-command-id="beta_job"] td.message')).to_have_text("boom")
    assert visible_rows(wall) == ["beta_job"]
    assert wall.evaluate("window.__loadedOnce") == "still here"
    expect(wall).to_have_title("(1) Commands · monitorkit")
    live_card = without_ages(wall, 'tr[data-command-id="beta_job"]')
    live_summary = without_ages(wall, "#kiosk-summary")
    wall.reload()
    expect(summary).to_have_text("2 OK, 1 new")
    assert without_ages(wall, 'tr[data-command-id="beta_job"]') == live_card
    assert without_ages(wall, "#kiosk-summary") == live_summary
    screenshot(wall, "kiosk-one-problem")


def icon(page: Any) -> str:
    return page.locator("link#favicon").get_attribute("href") or ""


def test_the_tab_title_and_icon_follow_the_problems(page, live_server, settings):
    reporter = DatabaseReporter()
    store_run(reporter, "alpha_job", 600, 1.0)
    store_run(reporter, "beta_job", 600, 1.0)
    page.goto(url(live_server, query="refresh=0.5"))
    expect(page).to_have_title("Commands · monitorkit")
    assert "1a7f37" in icon(page)  # OK's green
    live_rows = []
    with transaction.atomic():  # its start and end at once to a live poll (see above)
        store_run(reporter, "alpha_job", 5, 1.0, Status.FAILED, message="boom")
    expect(page).to_have_title("(1) Commands · monitorkit")
    expect(page.locator("link#favicon")).to_have_attribute("href", _containing("cf222e"))
    with transaction.atomic():  # its start and end at once to a live poll (see above)
        store_run(reporter, "beta_job", 5, 1.0, Status.FAILED, message="boom")
    expect(page).to_have_title("(2) Commands · monitorkit")
    for command_id in ("alpha_job", "beta_job"):
        live_rows.append(without_ages(page, f'tr[data-command-id="{command_id}"]'))
    page.reload()
    expect(page).to_have_title("(2) Commands · monitorkit")
    assert "cf222e" in icon(page)
    for command_id, live in zip(("alpha_job", "beta_job"), live_rows, strict=True):
        assert without_ages(page, f'tr[data-command-id="{command_id}"]') == live

    page.goto(url(live_server, "command", "alpha_job", query="refresh=0.5"))
    assert "cf222e" in icon(page)  # the command page: its own health
    store_run(reporter, "alpha_job", 1, 1.0)  # fine again
    expect(page.locator("link#favicon")).to_have_attribute("href", _containing("1a7f37"))


def _containing(text: str) -> Any:
    import re

    return re.compile(re.escape(text))


def test_no_page_asks_for_favicon_ico(page, live_server):
    store_run(DatabaseReporter(), "alpha_job", 600, 1.0)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(url(live_server))
    page.goto(url(live_server, "command", "alpha_job"))
    page.wait_for_timeout(500)
    assert not [u for u in asked if u.endswith("/favicon.ico")], asked
