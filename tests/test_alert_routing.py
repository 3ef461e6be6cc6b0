"""Routing: each command's alerts go to its channels, saying its owner and runbook.

In-process watcher cycles with a clock of their own, the real notifiers to the real local SMTP
and HTTP servers (``tests/sinks.py``), on SQLite, PostgreSQL and the local Realtime Database
server (``test_alert_repeats.new_reporter``). Real ``monitor_watch`` processes are in
``tests/test_alert_routing_processes.py``.
"""

# ruff: noqa: F811 - ``new_reporter`` is test_alert_repeats' fixture (each store), used by name here
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import monitorkit
from monitorkit.command import MonitoredCommand
from monitorkit.health import routing, schedules
from monitorkit.health.routing import Route, route_for
from monitorkit.record import Status
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.test_alert_delivery import at, delivered, email, mailed, store_run, watcher, webhook
from tests.test_alert_repeats import _only_these_schedules, new_reporter  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

BILLING, EXPORT = "billing_sync", "export_users"
RUNBOOK = "https://wiki.example.com/runbooks/billing"


def mail_text(inbox: Any) -> list[str]:
    """Return each accepted mail, whole, as text."""
    return [envelope.content.decode() for envelope in inbox.envelopes]


def test_two_commands_routed_to_two_channels_each_hear_only_their_own(
    new_reporter, http_sink, smtp_server, settings
):
    """billing_* goes to the mail (a route); export_users to the webhook (the catch-all
    route), with its own owner and runbook over the route's, key by key. Problems and
    recoveries each reach only their command's channel, saying owner and runbook."""
    settings.MONITORKIT_ALERT_ROUTES = [
        {"match": "billing_*", "channels": ["email"], "owner": "billing team", "runbook": RUNBOOK},
        {"match": "*", "channels": ["webhook"], "owner": "platform team"},
    ]
    settings.MONITORKIT_SCHEDULES[EXPORT] = {"owner": "data team", "runbook": "Rerun it."}
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), email()])
    store_run(reporter, BILLING, Status.FAILED, at(0))
    store_run(reporter, EXPORT, Status.FAILED, at(0))
    assert sorted(alert.describe() for alert in cycle(60).alerts) == [
        "sent by email",
        "sent by webhook",
    ]
    assert delivered(http_sink) == [(EXPORT, "FAILING")]
    assert mailed(smtp_server) == [f"Subject: [monitorkit] {BILLING} is failing (was NEW)"]
    (mail,) = mail_text(smtp_server)
    assert "Owner: billing team" in mail and f"Runbook: {RUNBOOK}" in mail
    body = http_sink.requests[0].json()
    assert (body["owner"], body["runbook"]) == ("data team", "Rerun it.")
    assert "Owner: data team" in body["text"] and "Runbook: Rerun it." in body["text"]

    store_run(reporter, BILLING, Status.FINISHED, at(100))
    store_run(reporter, EXPORT, Status.FINISHED, at(100))
    cycle(160)
    assert delivered(http_sink) == [(EXPORT, "FAILING"), (EXPORT, "OK")]
    assert mailed(smtp_server)[1:] == [f"Subject: [monitorkit] {BILLING} is OK again (was FAILING)"]
    assert "Owner: billing team" in mail_text(smtp_server)[1]
    assert http_sink.requests[1].json()["owner"] == "data team"


def test_a_recovery_goes_where_the_problem_went_even_when_the_route_changed(
    new_reporter, http_sink, smtp_server, settings
):
    settings.MONITORKIT_SCHEDULES[EXPORT] = {"channels": ["webhook"]}
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), email()])
    store_run(reporter, EXPORT, Status.FAILED, at(0))
    cycle(60)
    settings.MONITORKIT_SCHEDULES[EXPORT] = {"channels": ["email"]}
    store_run(reporter, EXPORT, Status.FINISHED, at(100))
    assert cycle(160).describe_alerts() == "1 alert(s) sent by webhook"
    assert delivered(http_sink) == [(EXPORT, "FAILING"), (EXPORT, "OK")]
    assert smtp_server.envelopes == []


def test_an_unknown_channel_name_is_ignored_and_warned_about(
    new_reporter, http_sink, smtp_server, settings
):
    settings.MONITORKIT_ALERTS = {"webhook": {"url": "https://example.com/hook"}}
    settings.MONITORKIT_SCHEDULES[EXPORT] = {"channels": ["webhook", "pagerr"]}
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), email()])
    store_run(reporter, EXPORT, Status.FAILED, at(0))
    assert cycle(60).describe_alerts() == "1 alert(s) sent by webhook"
    assert smtp_server.envelopes == []
    (problem,) = [p for p in routing.problems() if p.id == routing.W_UNKNOWN_CHANNEL]
    assert "'pagerr'" in problem.msg and "known: webhook" in problem.msg
    assert "'webhook-2'" in problem.hint


def test_undeclared_a_command_s_alerts_go_to_every_channel(
    new_reporter, http_sink, smtp_server, settings
):
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), email()])
    store_run(reporter, EXPORT, Status.FAILED, at(0))
    assert cycle(60).describe_alerts() == "1 alert(s) sent by webhook, email"
    assert "Owner" not in http_sink.requests[0].json()["text"]
    assert http_sink.requests[0].json()["owner"] is None


# --- where a route comes from --------------------------------------------------------------


def test_the_first_matching_route_applies_and_the_declaration_wins_key_by_key(settings):
    settings.MONITORKIT_ALERT_ROUTES = [
        {"match": "import_*", "channels": ["email"], "owner": "imports", "realert_every": 600},
        {"match": "import_users", "channels": ["webhook"], "owner": "never"},
    ]
    routes, found = routing.read_routes()
    assert found == []
    declared = schedules.Expectation("import_users", owner="users team", escalate_to=["pager"])
    assert route_for("import_users", declared, routes) == Route(
        channels=("email",),
        owner="users team",
        realert_every=dt.timedelta(minutes=10),
        escalate_to=("pager",),
    )
    assert route_for("Import_users", None, routes) == Route()  # patterns are case-sensitive


def test_the_keys_are_read_from_a_class_the_setting_and_the_decorator(settings, monkeypatch):
    monkeypatch.setattr(schedules, "_declarations", {})  # what the decorator declares: this test's

    class Billing(MonitoredCommand):
        monitor_channels = ["email"]
        monitor_owner = "billing team"
        monitor_realert_every = dt.timedelta(minutes=30)

    assert schedules.class_values(Billing) == {
        "channels": ["email"],
        "owner": "billing team",
        "realert_every": dt.timedelta(minutes=30),
    }
    monitorkit.monitor("routed_job", channels="webhook", runbook="https://x.example/rb")
    settings.MONITORKIT_SCHEDULES["routed_job"] = {"escalate_after": 3600, "escalate_to": ["sms"]}
    found = schedules.discover()["routed_job"]
    assert (found.channels, found.runbook, found.escalate_after, found.escalate_to) == (
        ("webhook",),
        "https://x.example/rb",
        dt.timedelta(hours=1),
        ("sms",),
    )
