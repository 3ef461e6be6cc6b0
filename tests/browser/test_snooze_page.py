"""The command page's snooze in a real browser (Debian's Chromium through Playwright), against
pytest-django's ``live_server`` (issue 20, item 4).

A user with ``monitorkit.snooze_command`` snoozes a command from its page and ends the snooze;
the store records who and why. A POST without the CSRF token is refused, a user without the
permission sees no form and is refused, an anonymous visitor is sent to log in.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from monitorkit.record import Status, utcnow
from monitorkit.snoozes import new_snooze
from monitorkit.stores.database.runs import DatabaseReporter
from tests.browser.conftest import PASSWORD, REQUIRE_ENV, screenshot, signed_in_page
from tests.browser.test_status_page import store_run, without_ages

try:
    from playwright.sync_api import expect
except ImportError as err:  # the browser fixture says the same, as a skip or a failure
    if os.environ.get(REQUIRE_ENV) == "1":
        raise
    pytest.skip(f"the playwright package is missing ({err})", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _a_failing_command(settings: Any) -> None:
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    store_run(DatabaseReporter(), "import_orders", ago=60, took=2, status=Status.FAILED)


def user_with(django_user_model: Any, name: str, *codenames: str) -> Any:
    user = django_user_model.objects.create_user(name, password=PASSWORD, is_staff=True)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="monitorkit", codename=codename)
        )
    return user


def urls(live_server: Any) -> tuple[str, str]:
    page = live_server.url + reverse("monitorkit:command", args=["import_orders"])
    return page, live_server.url + reverse("monitorkit:snooze", args=["import_orders"])


def snoozes() -> list[Any]:
    health = DatabaseReporter().health_store()
    assert health is not None
    return health.snoozes()


def test_a_user_with_the_permission_snoozes_from_the_page_and_ends_it(
    browser: Any, live_server: Any, django_user_model: Any
) -> None:
    ops = user_with(django_user_model, "ops", "view_commandrun", "snooze_command")
    page = signed_in_page(browser, ops, live_server)
    command_url, _ = urls(live_server)
    try:
        page.goto(command_url)
        expect(page.locator("#snooze .snooze-none")).to_have_text("Not snoozed: alerts are sent.")
        page.select_option("#snooze select[name=duration]", "8h")
        page.fill("#snooze input[name=reason]", "supplier migration <b>tonight</b>")
        page.click("#snooze button:has-text('Snooze alerts')")
        expect(page.locator("#snooze .snooze-who")).to_have_text("ops")
        expect(page.locator("#snooze .snooze-reason")).to_have_text(
            "supplier migration <b>tonight</b>"  # text, never markup
        )
        expect(page.locator(".command-head .snoozed")).to_have_text("snoozed")
        # The true health is still shown beside the mark.
        expect(page.locator(".command-head .badge")).to_have_text("FAILING")
        screenshot(page, "snooze-page")
        (snooze,) = snoozes()
        assert (snooze.pattern, snooze.who) == ("import_orders", "ops")
        assert snooze.reason == "supplier migration <b>tonight</b>"
        assert (snooze.until - snooze.start).total_seconds() == 8 * 3600

        page.click("#snooze button:has-text('End snooze')")
        expect(page.locator("#snooze .snooze-none")).to_be_visible()
        expect(page.locator(".command-head .snoozed")).to_have_count(0)
        (ended,) = snoozes()
        assert ended.until < snooze.until
    finally:
        page.context.close()


def test_a_post_without_the_csrf_token_is_refused(
    browser: Any, live_server: Any, django_user_model: Any
) -> None:
    ops = user_with(django_user_model, "ops", "view_commandrun", "snooze_command")
    page = signed_in_page(browser, ops, live_server)
    command_url, snooze_url = urls(live_server)
    try:
        page.goto(command_url)  # the CSRF cookie is set; the token is left out of the POST
        form = {"action": "snooze", "duration": "2h", "reason": "no token"}
        answer = page.request.post(snooze_url, form=form, max_redirects=0)
        assert answer.status == 403 and "CSRF" in answer.text()
        assert snoozes() == []
    finally:
        page.context.close()


def test_without_the_permission_there_is_no_form_and_a_post_is_refused(
    browser: Any, live_server: Any, django_user_model: Any
) -> None:
    viewer = user_with(django_user_model, "viewer", "view_commandrun")
    page = signed_in_page(browser, viewer, live_server)
    command_url, snooze_url = urls(live_server)
    try:
        page.goto(command_url)
        expect(page.locator("#snooze .snooze-none")).to_be_visible()
        expect(page.locator("#snooze form")).to_have_count(0)
        token = {c["name"]: c["value"] for c in page.context.cookies()}["csrftoken"]
        form = {"action": "snooze", "duration": "2h", "reason": "not mine to snooze"}
        answer = page.request.post(
            snooze_url, form=form, headers={"X-CSRFToken": token}, max_redirects=0
        )
        assert answer.status == 403 and "monitorkit.snooze_command" in answer.text()
        assert snoozes() == []
    finally:
        page.context.close()


def test_an_anonymous_visitor_is_sent_to_log_in(anonymous_page: Any, live_server: Any) -> None:
    _, snooze_url = urls(live_server)
    form = {"action": "snooze", "duration": "2h", "reason": "who am I"}
    answer = anonymous_page.request.post(snooze_url, form=form, max_redirects=0)
    assert answer.status == 302
    assert answer.headers["location"].startswith("/admin/login/?next=/monitor/commands/")
    assert snoozes() == []


def test_the_overview_marks_a_snooze_live_as_a_reload_draws_it(page: Any, live_server: Any):
    row = 'tr[data-command-id="import_orders"]'
    page.goto(live_server.url + reverse("monitorkit:overview") + "?refresh=0.5")
    expect(page.locator(f"{row} .snoozed")).to_have_count(0)
    health = DatabaseReporter().health_store()
    assert health is not None
    now = utcnow()
    snooze = new_snooze("import_*", "supplier migration", "ops", now, now + dt.timedelta(hours=2))
    health.add_snooze(snooze)
    expect(page.locator(f"{row} .snoozed")).to_have_text("snoozed")  # the next poll draws it
    live = without_ages(page, row)
    page.reload()
    assert without_ages(page, row) == live
    health.end_snooze(snooze.id, utcnow())
    expect(page.locator(f"{row} .snoozed")).to_have_count(0)
    gone = without_ages(page, row)
    page.reload()
    assert without_ages(page, row) == gone
