"""A snooze set and ended from the command page, and the watcher's part in it (issue 20, 4).

The page is driven by Django's test client with CSRF checks enforced, signed in as a user with
``monitorkit.snooze_command``; the watcher is built with its default clock and cycles in this
process under freezegun; alerts go to the real local webhook and SMTP servers
(``tests/sinks.py``). On SQLite, PostgreSQL and the local Realtime Database server: the page
writes the snooze to whichever store the project has, and the watcher reads it from there.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from monitorkit.alerts.email import EmailNotifier
from monitorkit.alerts.webhook import WebhookNotifier
from monitorkit.health.watch import CycleReport, Watcher
from monitorkit.record import Status, utcnow
from monitorkit.stores import Reporter, store_reporter
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_snooze_store import ended, health_store
from tests.test_alert_delivery import mailed

pytestmark = pytest.mark.django_db(transaction=True)

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "firebase"]
#: Now, to the minute, six hours back: the runs are written around real times (Firebase keeps
#: its ring by start), and every moment of the test is frozen relative to it.
T0 = utcnow().replace(second=0, microsecond=0) - dt.timedelta(hours=6)


@pytest.fixture(params=STORES)
def reporter(
    request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Reporter:
    """The project's store as the page and the watcher find it (``store_reporter``)."""
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_STALE_AFTER = 60
    if request.param == "postgresql":
        settings.MONITORKIT_DATABASE_ALIAS = request.getfixturevalue("pg_alias")
    elif request.param == "firebase":
        server = request.getfixturevalue("rtdb_server")
        settings.FIREBASE_MONITORING = {"DATABASE_URL": server.url}
        settings.FIREBASE_MONITORING_KEY = "snooze-page-tests"
        settings.MONITORKIT_HTTP_TIMEOUT = (0.5, 5.0)
    found = store_reporter()
    assert found is not None
    return found


@pytest.fixture
def cycle(reporter: Reporter, http_sink: Any, smtp_server: Any) -> Any:
    """Run one watcher cycle at a moment (freezegun), its alerts to the webhook and by mail."""
    notifiers = [
        WebhookNotifier(f"{http_sink.url}/hook", timeout=2, retries=0),
        EmailNotifier(to=["ops@example.com"], from_email="monitor@example.com"),
    ]

    def run(at: dt.datetime) -> CycleReport:
        with freeze_time(at):
            return Watcher(reporter, health_store(reporter), notifiers).cycle()

    return run


@pytest.fixture
def ops(django_user_model: Any) -> Client:
    """A signed-in user who may see the pages and snooze, with CSRF checks enforced."""
    user = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    for codename in ("view_commandrun", "snooze_command"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="monitorkit", codename=codename)
        )
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, command_id: str, at: dt.datetime, **form: str) -> None:
    """Post the command page's snooze form at ``at``, with the token the page gave."""
    page = reverse("monitorkit:command", args=[command_id])
    with freeze_time(at):
        shown = client.get(page)
        assert shown.status_code == 200
        token = str(shown.context["csrf_token"])
        answer = client.post(
            reverse("monitorkit:snooze", args=[command_id]),
            {**form, "csrfmiddlewaretoken": token},
        )
    assert answer.status_code == 302 and answer["Location"] == page + "#snooze"


def told(http_sink: Any) -> list[str]:
    """Return what the webhook took: ``<command id>:<health>``, or ``...:summary``."""
    bodies = [r.json() for r in http_sink.requests]
    return [f"{b['command_id']}:{'summary' if b.get('summary') else b['health']}" for b in bodies]


def test_a_snooze_from_the_page_holds_its_command_alone_and_ends_with_one_summary(
    reporter: Reporter, cycle: Any, ops: Client, http_sink: Any, smtp_server: Any
) -> None:
    for command_id in ("import_orders", "nightly"):
        ended(reporter, command_id, Status.FINISHED, T0 - dt.timedelta(minutes=5))
    cycle(T0 - dt.timedelta(minutes=4))  # both OK: nothing to say
    post(ops, "import_orders", T0, action="snooze", duration="2h", reason="supplier migration")
    (snooze,) = health_store(reporter).snoozes()
    assert (snooze.pattern, snooze.who) == ("import_orders", "ops")
    assert (snooze.start, snooze.until) == (T0, T0 + dt.timedelta(hours=2))

    ended(reporter, "import_orders", Status.FAILED, T0 + dt.timedelta(minutes=10))
    ended(reporter, "nightly", Status.FAILED, T0 + dt.timedelta(minutes=10))
    report = cycle(T0 + dt.timedelta(minutes=11))
    # Both judged FAILING and stored so; only the one not snoozed is alerted.
    assert sorted(t.command_id for t in report.transitions) == ["import_orders", "nightly"]
    assert told(http_sink) == ["nightly:FAILING"]
    ended(reporter, "import_orders", Status.FAILED, T0 + dt.timedelta(minutes=30))
    cycle(T0 + dt.timedelta(minutes=31))
    assert told(http_sink) == ["nightly:FAILING"]
    assert mailed(smtp_server) == ["Subject: [monitorkit] nightly is failing (was OK)"]

    end = T0 + dt.timedelta(hours=1)
    post(ops, "import_orders", end, action="end", snooze=snooze.id)  # ended early, by hand
    assert [s.until for s in health_store(reporter).snoozes()] == [end]
    report = cycle(end + dt.timedelta(minutes=1))
    assert [s.command_id for s in report.summaries] == ["import_orders"]
    cycle(end + dt.timedelta(minutes=2))  # nothing is said twice
    cycle(end + dt.timedelta(minutes=3))
    assert told(http_sink) == ["nightly:FAILING", "import_orders:summary"]
    summary = http_sink.requests[1].json()
    assert summary["health"] == "FAILING"
    assert summary["id"] == f"import_orders:summary:{snooze.id}:{end:%Y-%m-%dT%H:%M:%S.%fZ}"
    assert "by ops: supplier migration" in summary["summary"]
    assert "Runs that failed meanwhile: 2." in summary["text"]
    assert len(smtp_server.envelopes) == 2
    assert "import_orders" in mailed(smtp_server)[1]
    # The body as the reader sees it: quoted-printable folds long lines at whatever character
    # the 76th is (the times in the text move with the clock), so the raw bytes may not hold it.
    mail = email.message_from_bytes(smtp_server.envelopes[1].content, policy=email.policy.default)
    assert "supplier migration" in mail.get_content()


@pytest.mark.parametrize(
    ("snoozed", "neighbour"),
    [("purge__match_*", "purge__match_all"), ("tidy__one_?", "tidy__one_x")],
)
def test_an_id_with_a_wildcard_snoozed_from_the_page_matches_only_itself(
    reporter: Reporter, cycle: Any, ops: Client, http_sink: Any, snoozed: str, neighbour: str
) -> None:
    ended(reporter, snoozed, Status.FINISHED, T0 - dt.timedelta(minutes=5))
    post(ops, snoozed, T0, action="snooze", duration="1h", reason="")
    (snooze,) = health_store(reporter).snoozes()
    assert snooze.matches(snoozed) and not snooze.matches(neighbour)
    ended(reporter, snoozed, Status.FAILED, T0 + dt.timedelta(minutes=10))
    ended(reporter, neighbour, Status.FAILED, T0 + dt.timedelta(minutes=10))
    cycle(T0 + dt.timedelta(minutes=11))
    assert told(http_sink) == [f"{neighbour}:FAILING"]  # the pattern-looking id held alone
    cycle(T0 + dt.timedelta(hours=1, minutes=1))
    assert told(http_sink) == [f"{neighbour}:FAILING", f"{snoozed}:summary"]
