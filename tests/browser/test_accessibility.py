"""Accessible pages (issue 19, item 8): axe-core finds no serious or critical violation.

axe-core is the rule set accessibility audits use (contrast, names, structure, ARIA); it runs
inside Debian's Chromium on each page monitorkit draws, light and dark, with real data: the
overview, the wall screen, a command's page, and the page refusing a user without the
permission. Health is never colour alone (a badge says its health in words) and everything that
acts is reachable from the keyboard; the last test walks the overview with Tab.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from monitorkit.stores.database.runs import DatabaseReporter
from tests.browser.conftest import signed_in_page
from tests.browser.test_status_page import seed_shop, url, watcher_ran_just_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")

#: What a visitor must never meet; "moderate" and "minor" are reported, not failed.
BLOCKING = ("serious", "critical")
SCHEMES = ("light", "dark")


def signed_in(browser: Any, user: Any, live_server: Any, scheme: str) -> Any:
    """Return a page of a fresh context in ``scheme``, signed in as ``user``."""
    return signed_in_page(browser, user, live_server, color_scheme=scheme)


def blocking(page: Any) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations, described."""
    results = axe_playwright.Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            nodes = "; ".join(n["html"][:120] for n in violation["nodes"][:3])
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']}: {nodes}")
    return found


@pytest.fixture
def shop(settings: Any) -> None:
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "send_newsletter__segment_vip": {"schedule": 6 * 3600},
    }
    seed_shop(DatabaseReporter())
    watcher_ran_just_now()


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    "where",
    [
        ("overview", (), ""),
        ("overview", (), "kiosk=1"),
        ("overview", (), "health=problems"),
        ("command", ("sync_inventory",), ""),
        ("command", ("send_newsletter__segment_vip",), ""),
    ],
    ids=["overview", "kiosk", "filtered", "failing-command", "scheduled-command"],
)
def test_no_serious_or_critical_violation(
    browser: Any, staff: Any, live_server: Any, scheme: str, where: tuple[str, tuple[str, ...], str]
) -> None:
    name, args, query = where
    page = signed_in(browser, staff, live_server, scheme)
    try:
        page.goto(url(live_server, name, *args, query=query))
        page.wait_for_load_state("load")
        assert blocking(page) == []
    finally:
        page.context.close()


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_failed_runs_page_has_no_serious_or_critical_violation(
    browser: Any, staff: Any, live_server: Any, scheme: str
) -> None:
    (failed,) = DatabaseReporter().command_page("sync_inventory", 0, 1)
    assert failed.traceback, failed  # the page's open details are looked at too
    page = signed_in(browser, staff, live_server, scheme)
    try:
        page.goto(url(live_server, "run", "sync_inventory", failed.run_id))
        page.wait_for_load_state("load")
        assert page.locator("details#traceback[open]").count() == 1
        assert blocking(page) == []
    finally:
        page.context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_refusal_page_has_no_serious_or_critical_violation(
    browser: Any, live_server: Any, scheme: str
) -> None:
    visitor = get_user_model().objects.create_user("visitor", password="not-a-secret-1234")
    page = signed_in(browser, visitor, live_server, scheme)
    try:
        response = page.goto(url(live_server))
        assert response is not None and response.status == 403
        assert blocking(page) == []
    finally:
        page.context.close()


@pytest.mark.usefixtures("shop")
def test_the_overview_is_walked_with_the_keyboard(page: Any, live_server: Any) -> None:
    """Tab reaches the search, every count and every command's link, in the order they show."""
    page.goto(url(live_server))
    wanted = page.eval_on_selector_all(
        "#search, #counts a.count, #overview tbody tr:not([hidden]) td.command-id a",
        "nodes => nodes.map(n => n.id || n.getAttribute('href'))",
    )
    page.locator("#search").focus()
    reached = []
    for _ in wanted:
        reached.append(
            page.evaluate(
                "document.activeElement.id || document.activeElement.getAttribute('href')"
            )
        )
        page.keyboard.press("Tab")
    assert reached == wanted
