"""The way in to the status page (issue 19, item 6): where anonymous visitors are sent, what
the JSON answers them, the 403 page, and the navigation's links to the admin and to log out.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.conf import global_settings
from django.contrib.auth.models import Permission

from tests.stores.test_database import make_record
from tests.test_status_page import store

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ["/monitor/", "/monitor/commands/export/"]
JSON = ["/monitor/api/overview.json", "/monitor/api/commands/export.json"]


@pytest.fixture(autouse=True)
def _a_run(settings):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    store(make_record("export"), 2.0)


@pytest.fixture
def login_url_unset(settings):
    """As ``startproject`` leaves it: ``LOGIN_URL`` at Django's default, ``/accounts/login/``."""
    settings.LOGIN_URL = global_settings.LOGIN_URL


@pytest.fixture
def staff_without_permission(client, django_user_model):
    user = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    return user


def next_to(url: str) -> str:
    return f"?next={quote(url, safe='/')}"


# --- Where anonymous visitors of a page are sent ---------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_without_login_url_anonymous_go_to_the_admins_login(client, login_url_unset, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/" + next_to(url)


@pytest.mark.parametrize("url", PAGES)
def test_a_login_url_set_is_kept(client, settings, url):
    settings.LOGIN_URL = "/sso/start/"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/sso/start/" + next_to(url)


@pytest.mark.urls("tests.urls_with_accounts")
def test_the_default_login_url_is_kept_when_it_answers(client, login_url_unset):
    response = client.get("/monitor/")
    assert response["Location"] == "/accounts/login/" + next_to("/monitor/")


@pytest.mark.urls("tests.urls_without_admin")
def test_without_the_admin_mounted_the_default_login_url_is_kept(client, login_url_unset):
    response = client.get("/monitor/")
    assert response["Location"] == "/accounts/login/" + next_to("/monitor/")


# --- What the JSON answers ---------------------------------------------------------------------


@pytest.mark.parametrize("url", JSON)
def test_anonymous_json_is_a_401_in_json(client, login_url_unset, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "authentication required",
        "login_url": "/admin/login/" + next_to("/monitor/"),
    }


@pytest.mark.parametrize("url", JSON)
def test_json_without_the_permission_is_a_403_in_json(client, staff_without_permission, url):
    response = client.get(url)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["permission"] == "monitorkit.view_commandrun"
    assert "ops" in body["error"] and "monitorkit.view_commandrun" in body["error"]


# --- The 403 page ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_a_page_without_the_permission_is_a_403_page_that_says_why(
    client, staff_without_permission, url
):
    response = client.get(url)
    assert response.status_code == 403
    assert [t.name for t in response.templates][:2] == [
        "monitorkit/forbidden.html",
        "monitorkit/base.html",
    ]
    html = response.content.decode()
    assert "signed in as <strong>ops</strong>" in html
    assert "<code>monitorkit.view_commandrun</code>" in html
    assert f'href="/admin/login/{next_to(url)}">Sign in as someone else' in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_non_staff_user_is_refused_the_same_way(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))
    page = client.get("/monitor/")
    assert (
        page.status_code == 403 and "signed in as <strong>visitor</strong>" in page.content.decode()
    )
    assert client.get("/monitor/api/overview.json").status_code == 403


def test_the_permission_lets_the_same_user_in(client, staff_without_permission, django_user_model):
    staff_without_permission.user_permissions.add(
        Permission.objects.get(codename="view_commandrun")
    )
    client.force_login(django_user_model.objects.get(pk=staff_without_permission.pk))
    assert client.get("/monitor/").status_code == 200
    assert client.get("/monitor/api/overview.json").status_code == 200


# --- The navigation's links --------------------------------------------------------------------


def logout_form(action: str) -> str:
    return f'<form class="logout" method="post" action="{action}">'


def test_staff_see_the_admin_and_a_logout_form(admin_client):
    html = admin_client.get("/monitor/").content.decode()
    assert '<a class="admin" href="/admin/">Admin</a>' in html
    assert logout_form("/admin/logout/") in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<input type="hidden" name="next" value="/monitor/">' in html


def test_the_logout_form_logs_out_and_comes_back_to_the_page(admin_client):
    response = admin_client.post("/admin/logout/", {"next": "/monitor/"})
    assert response.status_code == 302 and response["Location"] == "/monitor/"
    assert admin_client.get("/monitor/")["Location"].startswith("/admin/login/?next=")


@pytest.mark.urls("tests.urls_with_accounts")
def test_the_projects_own_logout_is_preferred(admin_client):
    html = admin_client.get("/monitor/").content.decode()
    assert logout_form("/accounts/logout/") in html


@pytest.mark.urls("tests.urls_without_admin")
def test_without_the_admin_there_is_no_admin_link_nor_logout(admin_client):
    html = admin_client.get("/monitor/").content.decode()
    assert 'class="admin"' not in html
    assert 'class="logout"' not in html
    assert '<span class="user">admin</span>' in html


def test_a_non_staff_user_gets_no_admin_link_nor_the_admins_logout(client, django_user_model):
    """The admin's logout sends non-staff users to its index without logging them out."""
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))
    html = client.get("/monitor/").content.decode()
    assert 'class="admin"' not in html and 'class="logout"' not in html


def test_the_wall_screen_has_no_account_links(admin_client):
    html = admin_client.get("/monitor/?kiosk=1").content.decode()
    assert 'class="logout"' not in html
