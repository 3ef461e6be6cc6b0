"""One Debian Chromium per test module, driven by Playwright; a logged-in staff page per test.

Nothing may download a browser at run time, so the tests launch the system's
``/usr/bin/chromium`` (``bash scripts/setup`` installs it) and never Playwright's own build.
Without it the tests are skipped, or fail when ``MONITORKIT_REQUIRE_BROWSER=1`` says the
browser must be there (the main leg of ``scripts/test``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
REQUIRE_ENV = "MONITORKIT_REQUIRE_BROWSER"
# Headless, offline and quiet: no GPU, no QUIC, no update or sync traffic to the outside.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).parent / "screenshots"  # gitignored: look at them after a run
PASSWORD = "browser-test-password"


def _unavailable(why: str) -> None:
    message = f"the browser tests cannot run: {why}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for the whole module (a launch costs about a second).

    ``launch`` gives the browser a fresh temporary profile (user-data-dir) and removes it on
    close. Playwright's sync API keeps an event loop running on this thread, so Django's
    "async context" guard would refuse the tests' own database calls: it is lifted here.
    """
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import Error, expect, sync_playwright
    except ImportError as err:
        _unavailable(f"the playwright package is missing ({err})")
    expect.set_options(timeout=30_000)  # what a page shows may come late on a busy machine
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        with sync_playwright() as playwright:
            try:
                chromium = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
                )
            except Error as err:
                _unavailable(f"{CHROMIUM} did not start: {err}")
            try:
                yield chromium
            finally:
                chromium.close()


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    """A staff user with exactly the permission the status page asks for."""
    user = django_user_model.objects.create_user("staff", password=PASSWORD, is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="monitorkit", codename="view_commandrun")
    )
    return user


@pytest.fixture
def anonymous_page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context: no cookie, a 1280x800 window."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(context: Any, user: Any, live_server: Any) -> None:
    """Sign ``context`` in as ``user``: the session cookie of a real login, put in the browser."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def signed_in_page(browser: Any, user: Any, live_server: Any, **options: Any) -> Any:
    """Return a page of a new context (``options``: viewport, colour scheme, time zone, ...)
    signed in as ``user``; the caller closes ``page.context``."""
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.set_default_timeout(30_000)
    sign_in(context, user, live_server)
    return context.new_page()


@pytest.fixture
def page(anonymous_page: Any, staff: Any, live_server: Any) -> Any:
    """A page logged in as ``staff``."""
    sign_in(anonymous_page.context, staff, live_server)
    return anonymous_page


def screenshot(page: Any, name: str) -> Path:
    """Save what the page shows now, for a person to look at after the run."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
