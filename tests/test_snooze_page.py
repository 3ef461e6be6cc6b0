"""The command page's snooze (issue 20, item 4): who may, the CSRF token, what is recorded.

Through Django's test client with CSRF checks enforced (its default skips them), against the
project's database store; ``tests/browser/test_snooze_page.py`` does the same in a real browser.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from monitorkit.record import utcnow
from monitorkit.stores.database.runs import DatabaseReporter
from tests.stores.test_database import make_record
from tests.test_status_page import store

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/monitor/commands/export/"
SNOOZE = "/monitor/snoozes/export/"


@pytest.fixture(autouse=True)
def _a_run(settings: Any) -> None:
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    store(make_record("export"), 2.0)


def user_with(django_user_model: Any, name: str, *codenames: str) -> Any:
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="monitorkit", codename=codename)
        )
    return user


def signed_in(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def token_of(client: Client) -> str:
    page = client.get(PAGE)
    assert page.status_code == 200
    return str(page.context["csrf_token"])


def snoozes() -> list[Any]:
    health = DatabaseReporter().health_store()
    assert health is not None
    return health.snoozes()


def test_a_user_with_the_permission_snoozes_and_ends_with_the_token(django_user_model):
    client = signed_in(user_with(django_user_model, "ops", "view_commandrun", "snooze_command"))
    assert b'class="snooze-form"' in client.get(PAGE).content
    form = {"action": "snooze", "duration": "2h", "reason": "supplier  migration"}
    answer = client.post(SNOOZE, {**form, "csrfmiddlewaretoken": token_of(client)})
    assert answer.status_code == 302 and answer["Location"] == PAGE + "#snooze"
    (snooze,) = snoozes()
    assert (snooze.pattern, snooze.who, snooze.reason) == ("export", "ops", "supplier migration")
    assert snooze.until - snooze.start == dt.timedelta(hours=2)
    data = client.get("/monitor/api/commands/export.json").json()
    assert data["snoozed"] is True and data["snoozes"][0]["who"] == "ops"
    page = client.get(PAGE).content.decode()
    assert 'class="snoozed"' in page and "supplier migration" in page and "End snooze" in page

    end = {"action": "end", "snooze": snooze.id, "csrfmiddlewaretoken": token_of(client)}
    assert client.post(SNOOZE, end).status_code == 302
    (ended,) = snoozes()
    assert ended.until <= utcnow()
    assert client.get("/monitor/api/commands/export.json").json()["snoozed"] is False


def test_a_post_without_the_csrf_token_is_refused(django_user_model):
    client = signed_in(user_with(django_user_model, "ops", "view_commandrun", "snooze_command"))
    answer = client.post(SNOOZE, {"action": "snooze", "duration": "2h", "reason": "x"})
    assert answer.status_code == 403 and b"CSRF" in answer.content
    assert snoozes() == []


def test_without_the_snooze_permission_there_is_no_form_and_a_post_is_refused(
    django_user_model,
):
    client = signed_in(user_with(django_user_model, "viewer", "view_commandrun"))
    page = client.get(PAGE).content
    assert b'class="snooze-form"' not in page and b"Not snoozed" in page
    form = {"action": "snooze", "duration": "2h", "reason": "x"}
    answer = client.post(SNOOZE, {**form, "csrfmiddlewaretoken": token_of(client)})
    assert answer.status_code == 403
    assert b"monitorkit.snooze_command" in answer.content
    assert snoozes() == []


def test_anonymous_visitors_are_sent_to_log_in_and_get_requests_are_refused(
    django_user_model,
):
    answer = Client().post(SNOOZE, {"action": "snooze", "duration": "2h", "reason": "x"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/admin/login/?next=/monitor/commands/export/")
    client = signed_in(user_with(django_user_model, "ops", "view_commandrun", "snooze_command"))
    assert client.get(SNOOZE).status_code == 405
    assert snoozes() == []


def test_a_duration_the_form_does_not_offer_is_refused(django_user_model):
    client = signed_in(user_with(django_user_model, "ops", "view_commandrun", "snooze_command"))
    form = {"action": "snooze", "duration": "forever", "reason": "x"}
    answer = client.post(SNOOZE, {**form, "csrfmiddlewaretoken": token_of(client)})
    assert answer.status_code == 400 and snoozes() == []
