"""A command's page and JSON say where its alerts go: the route the watcher follows.

Channels, repeats, escalation, owner and runbook, from the command's declaration and from
``MONITORKIT_ALERT_ROUTES`` (first match, its own keys winning), as ``health/routing.py`` reads
them for the watcher; a runbook is a link only when it is an http(s) URL.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.stores.test_database import make_record
from tests.test_status_page import store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _runs(settings: Any) -> None:
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "billing_export": {"owner": "billing team", "realert_every": 3600},
    }
    settings.MONITORKIT_ALERT_ROUTES = [
        {
            "match": "billing_*",
            "channels": ["email"],
            "owner": "finance",
            "runbook": "https://wiki.example.com/runbooks/billing?x=1&y=2",
            "escalate_after": 7200,
            "escalate_to": ["webhook"],
        }
    ]
    for command_id in ("billing_export", "cleanup", "odd_runbook"):
        store(make_record(command_id), 1.0)


def test_the_json_carries_the_route_the_watcher_follows(admin_client):
    alerts = admin_client.get("/monitor/api/commands/billing_export.json").json()["alerts"]
    assert alerts == {
        "channels": ["email"],
        "owner": "billing team",  # the command's own key wins over the route's
        "runbook": "https://wiki.example.com/runbooks/billing?x=1&y=2",
        "realert_every_seconds": 3600.0,
        "escalate_after_seconds": 7200.0,
        "escalate_to": ["webhook"],
    }
    plain = admin_client.get("/monitor/api/commands/cleanup.json").json()["alerts"]
    assert plain == {
        "channels": None,
        "owner": None,
        "runbook": None,
        "realert_every_seconds": None,
        "escalate_after_seconds": None,
        "escalate_to": [],
    }


def test_the_page_says_it_in_words_with_the_runbook_as_a_link(admin_client):
    page = admin_client.get("/monitor/commands/billing_export/").content.decode()
    assert (
        '<dd class="alert-channels">email, repeated every 1 h; after 2 h also webhook</dd>' in page
    )
    assert '<dd class="owner">billing team</dd>' in page
    assert (
        '<a href="https://wiki.example.com/runbooks/billing?x=1&amp;y=2" rel="noopener noreferrer">'
        in page
    )
    plain = admin_client.get("/monitor/commands/cleanup/").content.decode()
    assert '<dd class="alert-channels">every channel</dd>' in plain
    assert 'class="owner"' not in plain and 'class="runbook"' not in plain


def test_a_runbook_that_is_no_web_address_is_text(admin_client, settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "odd_runbook": {"runbook": "javascript:alert(1) <b>see the wiki</b>"},
    }
    page = admin_client.get("/monitor/commands/odd_runbook/").content.decode()
    assert '<dd class="runbook">javascript:alert(1) &lt;b&gt;see the wiki&lt;/b&gt;</dd>' in page
    assert 'href="javascript' not in page
