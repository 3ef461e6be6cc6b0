"""The status page's URLconf names its views by path and imports them on first use."""

from __future__ import annotations

import subprocess
import sys

from django.test import Client
from django.urls import resolve, reverse

from monitorkit.web.views.lazy import LazyView

#: Imports the URLconf as Django's URL check does, then says which view modules are loaded.
IMPORT_URLCONF = """
import django, sys
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                                   "monitorkit"], ROOT_URLCONF="monitorkit.urls")
django.setup()
from django.core.checks.urls import check_url_config
assert check_url_config(None) == []
print(sorted(m for m in sys.modules if m.startswith("monitorkit.web.views.")))
"""


def test_the_url_check_imports_no_view_module():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_URLCONF], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['monitorkit.web.views.lazy']"


def test_a_lazy_view_names_itself_without_importing_and_reads_decorator_marks_through():
    view = LazyView("monitorkit.web.views.snooze.snooze_command")
    assert view.__module__ == "monitorkit.web.views.snooze"
    assert view.__qualname__ == "snooze_command"
    # Django's CSRF middleware reads the mark from the URL's callback: the real view's.
    from monitorkit.web.views.snooze import snooze_command

    assert view.csrf_exempt is True is snooze_command.csrf_exempt
    assert view.view() is snooze_command
    assert not hasattr(LazyView("monitorkit.web.views.api.overview_json"), "csrf_exempt")
    assert repr(view) == "<LazyView monitorkit.web.views.snooze.snooze_command>"


def test_urls_resolve_and_reverse_to_the_named_views():
    match = resolve("/monitor/api/overview.json")
    assert isinstance(match.func, LazyView)
    assert match.view_name == "monitorkit:api-overview"
    assert match._func_path == "monitorkit.web.views.api.overview_json"
    assert reverse("monitorkit:command", args=["a:b"]) == "/monitor/commands/a:b/"


def test_an_anonymous_request_goes_through_the_lazy_view_to_the_real_one():
    response = Client().get("/monitor/api/overview.json")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
