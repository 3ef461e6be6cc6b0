"""Every view at a desktop's and a phone's width, as the docs show them (a docs tool).

Not collected with the suite (its name has no ``test_`` prefix): ``bash scripts/docs-screenshot``
runs it by name. Its checks (headings shown, nothing scrolling sideways) are the suite's own in
``test_screens.py``; this module only draws the pictures.

Each view of the status page is drawn with the small shop's data (one command fine, one
failing, one running) at 1440x900 and at 390x844, and the kiosk at 1920x1080, in the browser
tests' screenshots; with ``MONITORKIT_DOCS_SCREENSHOTS`` set to a folder (``bash
scripts/docs-screenshot`` sets it to ``docs/images``) they are copied there too. Each drawing is
also a check: the view's heading is shown and nothing scrolls sideways.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from monitorkit.stores.database.runs import DatabaseReporter
from tests.browser.conftest import screenshot, signed_in_page
from tests.browser.test_status_page import seed_shop, url, watcher_ran_just_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS_ENV = "MONITORKIT_DOCS_SCREENSHOTS"
#: name -> (URL name, its arguments, query)
VIEWS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "overview": ("overview", (), ""),
    "command": ("command", ("sync_inventory",), ""),
    "scheduled-command": ("command", ("send_newsletter__segment_vip",), ""),
}
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture
def shop(settings: Any) -> None:
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "send_newsletter__segment_vip": {"schedule": 6 * 3600},
    }
    seed_shop(DatabaseReporter())
    watcher_ran_just_now()


def drawn(browser: Any, staff: Any, live_server: Any, size: tuple[int, int], address: str) -> Any:
    page = signed_in_page(
        browser, staff, live_server, viewport={"width": size[0], "height": size[1]}
    )
    page.goto(address)
    page.wait_for_load_state("load")
    return page


def keep(page: Any, name: str) -> None:
    """Save the whole page's screenshot; copy it to the docs' folder when asked."""
    path = screenshot(page, name)
    page.screenshot(path=str(path), full_page=True)
    folder = os.environ.get(DOCS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(folder) / f"{name}.png")


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", [*VIEWS, "run"])
def test_each_view_at_each_width(
    browser: Any, staff: Any, live_server: Any, view: str, size: str
) -> None:
    if view == "run":  # the failing command's newest run: its traceback open
        newest = DatabaseReporter().command_history("sync_inventory", 1)[0]
        name, args, query = "run", ("sync_inventory", newest.run_id), ""
    else:
        name, args, query = VIEWS[view]
    page = drawn(
        browser, staff, live_server, SIZES[size], url(live_server, name, *args, query=query)
    )
    try:
        assert page.locator("h1").first.is_visible()
        wide = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{view} scrolls {wide} px sideways at {SIZES[size][0]} px"
        keep(page, f"{view}-{size}")
    finally:
        page.context.close()


@pytest.mark.usefixtures("shop")
def test_the_wall_screen_at_1080p(browser: Any, staff: Any, live_server: Any) -> None:
    page = drawn(browser, staff, live_server, (1920, 1080), url(live_server, query="kiosk=1"))
    try:  # the failing command is a problem: a card of its own
        assert page.locator('#overview tr[data-command-id="sync_inventory"]').is_visible()
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        keep(page, "kiosk-1080p")
    finally:
        page.context.close()
