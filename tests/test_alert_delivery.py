"""Alerts delivered per channel, on both health stores (``monitorkit/delivery.py``).

In-process watcher cycles with a clock of their own, real notifiers to the real local SMTP
server and the real local HTTP server (``tests/sinks.py``), and the store either the database
(SQLite) or the local Realtime Database server over real HTTP. Two watchers are two
``Watcher`` objects with their own reporters (their own connections or HTTP sessions).
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit.alerts import Notifier, NotifierError
from monitorkit.alerts.email import EmailNotifier
from monitorkit.alerts.webhook import WebhookNotifier
from monitorkit.conf import monitor_settings
from monitorkit.health.watch import CycleReport, Watcher
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.redaction import MASK
from monitorkit.retry import RetryPolicy
from monitorkit.stores.base import Reporter
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.stores.firebase.runs import FirebaseReporter

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
CMD = "sync_payments"
REFUSED = "451 4.3.0 Mailbox busy, try again later"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def _only_these_schedules(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test app's scheduled_command declares a schedule; these tests need none."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)


@pytest.fixture(params=["database", "firebase"])
def new_reporter(request: pytest.FixtureRequest, settings: Any) -> Callable[[], Reporter]:
    """Make a reporter of the store under test (each call: another watcher's own)."""
    if request.param == "database":
        return DatabaseReporter
    server = request.getfixturevalue("rtdb_server")
    settings.FIREBASE_MONITORING = {"DATABASE_URL": server.url}
    settings.FIREBASE_MONITORING_KEY = "alert-delivery-tests"
    settings.MONITORKIT_HTTP_TIMEOUT = 2
    fast = RetryPolicy(attempts=3, base=0.01, cap=0.05)
    return lambda: FirebaseReporter(monitor_settings, retry_policy=fast)


def store_run(reporter: Reporter, command_id: str, status: Status, started: dt.datetime) -> None:
    """Start and end one run of ``command_id``."""
    record = RunRecord(
        id=command_id,
        name=command_id,
        params="",
        run_id=uuid.uuid4().hex,
        host="web-1",
        pid=4242,
        started=started,
        latest=started,
    )
    reporter.write(record)
    record.status = status
    record.finished = record.latest = started + dt.timedelta(seconds=5)
    record.message = "the bank's API is down" if status is Status.FAILED else "Command finished"
    reporter.write(record)


def watcher(reporter: Reporter, notifiers: Sequence[Notifier]) -> Callable[[float], CycleReport]:
    """Return a watcher of ``reporter``'s store: call it with seconds after T0 to run a cycle."""

    def cycle(seconds: float) -> CycleReport:
        store = reporter.health_store()
        assert store is not None
        return Watcher(reporter, store, notifiers, clock=lambda: at(seconds)).cycle()

    return cycle


def webhook(sink: Any, timeout: float = 2.0) -> WebhookNotifier:
    return WebhookNotifier(f"{sink.url}/hook", timeout=timeout, retries=0)


def email() -> EmailNotifier:
    return EmailNotifier(to=["ops@example.com"], from_email="monitor@example.com")


def alerts(reporter: Reporter, command_id: str = CMD) -> list[tuple[str, str]]:
    """Return the command id's transitions, oldest first, as (health, alert state)."""
    store = reporter.health_store()
    assert store is not None
    return [(t.health, state) for _, t, state in reversed(store.transitions(command_id))]


def deliveries(reporter: Reporter, number: int, command_id: str = CMD) -> dict[str, Any]:
    """Return transition ``number``'s deliveries by channel."""
    store = reporter.health_store()
    assert store is not None
    found = store.alert(command_id, number)
    assert found is not None
    return dict(found.deliveries)


def delivered(sink: Any) -> list[tuple[str, str]]:
    """Return what the webhook answered 200 to: (command id, health) of each alert."""
    return [(r.json()["command_id"], r.json()["health"]) for r in sink.requests if r.status == 200]


def mailed(inbox: Any) -> list[str]:
    """Return the subjects of the mails the SMTP server accepted."""
    return [
        next(line for line in e.content.decode().splitlines() if line.startswith("Subject:"))
        for e in inbox.envelopes
    ]


def test_a_recovery_follows_a_partly_delivered_alert(new_reporter, http_sink, smtp_server):
    """Defect 3: the webhook delivered the problem and the mail server refused it; the command
    recovers before the mail server is back. The recovery goes to the webhook, which was told
    of the problem; the mail is never sent either (its problem alert was superseded)."""
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), email()])
    smtp_server.refuse = REFUSED
    store_run(reporter, CMD, Status.FAILED, T0)
    first = cycle(60)
    assert delivered(http_sink) == [(CMD, "FAILING")]
    assert alerts(reporter) == [("FAILING", "retrying")]  # not "failed": one channel delivered
    assert first.describe_alerts() == "1 alert(s) sent by webhook, failed on email (will retry)"
    sent = deliveries(reporter, 1)
    assert (sent["webhook"].state, sent["webhook"].attempts) == ("sent", 1)
    assert (sent["email"].state, sent["email"].attempts) == ("pending", 1)
    assert "451" in sent["email"].error and sent["email"].retry_at == at(90)

    store_run(reporter, CMD, Status.FINISHED, at(120))
    second = cycle(180)
    assert [t.health for t in second.transitions] == ["OK"]
    assert delivered(http_sink) == [(CMD, "FAILING"), (CMD, "OK")]
    assert alerts(reporter) == [("FAILING", "partial"), ("OK", "sent")]
    assert second.describe_alerts() == "1 alert(s) sent by webhook"
    assert deliveries(reporter, 1)["email"].state == "superseded"
    assert set(deliveries(reporter, 2)) == {"webhook"}  # the recovery goes where the problem went

    smtp_server.refuse = None
    assert cycle(600).alerts == []
    assert smtp_server.envelopes == []  # never told of the problem: not of its end either
    assert len(http_sink.requests) == 2


def test_a_failed_channel_is_retried_with_backoff_and_delivered_once(
    new_reporter, http_sink, smtp_server
):
    """The mail server refuses twice, then takes the alert: it is tried again 30 s and then
    60 s after each failure, by whichever of two watchers comes, and each channel gets each
    alert once; the recovery then goes to both."""
    one, other = new_reporter(), new_reporter()
    a = watcher(one, [webhook(http_sink), email()])
    b = watcher(other, [webhook(http_sink), email()])
    smtp_server.refuse = REFUSED
    store_run(one, CMD, Status.FAILED, T0)
    a(60)
    assert alerts(one) == [("FAILING", "retrying")]  # on main: "failed", and never retried
    assert b(80).alerts == []  # the retry is due at 90 s
    again = a(120)
    assert again.describe_alerts() == "1 alert(s) failed on email (will retry)"
    assert deliveries(other, 1)["email"].retry_at == at(180)  # twice as long as the first wait
    assert b(150).alerts == []
    smtp_server.refuse = None
    assert b(180).describe_alerts() == "1 alert(s) sent by email"
    assert a(240).alerts == [] and b(300).alerts == []
    assert alerts(one) == [("FAILING", "sent")]
    sent = deliveries(one, 1)
    assert {name: (d.state, d.attempts) for name, d in sent.items()} == {
        "webhook": ("sent", 1),
        "email": ("sent", 3),
    }
    assert delivered(http_sink) == [(CMD, "FAILING")]
    assert mailed(smtp_server) == [f"Subject: [monitorkit] {CMD} is failing (was NEW)"]

    store_run(one, CMD, Status.FINISHED, at(400))
    assert a(420).describe_alerts() == "1 alert(s) sent by webhook, email"
    assert b(480).alerts == [] and a(540).alerts == []
    assert delivered(http_sink) == [(CMD, "FAILING"), (CMD, "OK")]
    assert mailed(smtp_server)[1:] == [f"Subject: [monitorkit] {CMD} is OK again (was FAILING)"]


def test_a_webhook_that_never_answers_is_retried_and_recoveries_follow(new_reporter, http_sink):
    """Defect 3, second half: the only webhook accepts and never answers during a cycle. The
    problems are delivered by a later cycle, once each, and their recoveries are not lost."""
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink, timeout=0.3)])
    jobs = ["export_a", "export_b"]
    for job in jobs:
        store_run(reporter, job, Status.FAILED, T0)
    http_sink.respond("hang", "hang")
    first = cycle(60)
    assert delivered(http_sink) == []
    assert [alerts(reporter, job) for job in jobs] == [[("FAILING", "retrying")]] * 2
    assert first.describe_alerts() == "2 alert(s) failed on webhook (will retry)"
    assert "ReadTimeout" in deliveries(reporter, 1, "export_a")["webhook"].error

    second = cycle(120)  # the webhook answers again
    assert second.describe_alerts() == "2 alert(s) sent by webhook"
    assert sorted(delivered(http_sink)) == [(job, "FAILING") for job in jobs]
    for job in jobs:
        store_run(reporter, job, Status.FINISHED, at(180))
    third = cycle(240)
    assert third.describe_alerts() == "2 alert(s) sent by webhook"
    assert [alerts(reporter, job) for job in jobs] == [[("FAILING", "sent"), ("OK", "sent")]] * 2
    assert cycle(300).alerts == []
    assert Counter(delivered(http_sink)) == {(j, h): 1 for j in jobs for h in ("FAILING", "OK")}


class Meanwhile(Notifier):
    """A webhook during whose first send something else happens (another watcher's cycle)."""

    name = "webhook"

    def __init__(self, real: Notifier, meanwhile: Callable[[], None]) -> None:
        self.real, self.meanwhile = real, meanwhile

    def send(self, transition: Any) -> None:
        meanwhile, self.meanwhile = self.meanwhile, lambda: None
        meanwhile()
        self.real.send(transition)


def test_a_recovery_waits_for_the_watcher_still_sending_its_problem(
    new_reporter, http_sink, smtp_server
):
    """While one watcher sends the problem, the command recovers and another watcher stores
    the recovery: it waits for the sender (not "the problem was never alerted"), and once the
    sender stored which channels it reached, the recovery goes to those."""
    one, other = new_reporter(), new_reporter()
    b = watcher(other, [webhook(http_sink), email()])
    seen: list[CycleReport] = []

    def recover_and_watch() -> None:
        store_run(other, CMD, Status.FINISHED, at(30))
        seen.append(b(61))

    a = watcher(one, [Meanwhile(webhook(http_sink), recover_and_watch), email()])
    smtp_server.refuse = REFUSED
    store_run(one, CMD, Status.FAILED, T0)
    a(60)
    assert alerts(one) == [("FAILING", "partial"), ("OK", "pending")]
    assert [t.health for t in seen[0].transitions] == ["OK"] and seen[0].alerts == []
    assert delivered(http_sink) == [(CMD, "FAILING")]
    assert deliveries(one, 1)["email"].state == "superseded"
    assert b(120).describe_alerts() == "1 alert(s) sent by webhook"
    assert delivered(http_sink) == [(CMD, "FAILING"), (CMD, "OK")]
    assert alerts(one) == [("FAILING", "partial"), ("OK", "sent")]


def test_a_channel_is_given_up_after_the_retry_time(http_sink, settings):
    """With MONITORKIT_ALERT_RETRY_FOR = 120 s, a webhook that keeps answering 500 is tried at
    60, 90, 150 and 180 s (the last try at the bound), then given up and reported so; the
    recovery of a problem nobody was told of is not sent."""
    settings.MONITORKIT_ALERT_RETRY_FOR = 120
    reporter = DatabaseReporter()
    cycle = watcher(reporter, [webhook(http_sink)])
    http_sink.respond(*[500] * 4)
    store_run(reporter, CMD, Status.FAILED, T0)
    tried = {seconds: cycle(seconds).describe_alerts() for seconds in (60, 89, 90, 150, 180)}
    assert tried == {
        60: "1 alert(s) failed on webhook (will retry)",
        89: "0 alert(s) sent",
        90: "1 alert(s) failed on webhook (will retry)",
        150: "1 alert(s) failed on webhook (will retry)",
        180: "1 alert(s) failed on webhook (gave up)",
    }
    assert alerts(reporter) == [("FAILING", "failed")]
    given_up = deliveries(reporter, 1)["webhook"]
    assert (given_up.state, given_up.attempts, given_up.retry_at) == ("failed", 4, None)
    assert cycle(600).alerts == [] and len(http_sink.requests) == 4
    store_run(reporter, CMD, Status.FINISHED, at(700))
    cycle(720)
    assert alerts(reporter) == [("FAILING", "failed"), ("OK", "none")]
    assert len(http_sink.requests) == 4


class Leaky(Notifier):
    """A user's notifier whose error quotes its credentials."""

    name = "pager"

    def send(self, transition: Any) -> None:
        raise NotifierError(
            "pager refused https://ops:hunter2-pass@pager.example.com/v1 with "
            "Authorization: Bearer abcdef0123456789abcdef and api_key=k3y-0123456789"
        )


def test_a_stored_delivery_error_holds_no_credential(new_reporter):
    reporter = new_reporter()
    store_run(reporter, CMD, Status.FAILED, T0)
    watcher(reporter, [Leaky()])(60)
    error = deliveries(reporter, 1)["pager"].error
    assert error.startswith("pager refused") and MASK in error
    for secret in ("hunter2-pass", "abcdef0123456789abcdef", "k3y-0123456789"):
        assert secret not in error


def test_a_problem_stored_before_per_channel_delivery_gets_its_recovery(http_sink, smtp_server):
    """A transition stored ``sent`` before deliveries were kept per channel (no deliveries)
    counts as told to every channel."""
    from monitorkit.models import HealthTransition

    reporter = DatabaseReporter()
    cycle = watcher(reporter, [webhook(http_sink), email()])
    store_run(reporter, CMD, Status.FAILED, T0)
    cycle(60)
    HealthTransition.objects.filter(command_id=CMD).update(alert="sent", deliveries={})
    store_run(reporter, CMD, Status.FINISHED, at(120))
    assert cycle(180).describe_alerts() == "1 alert(s) sent by webhook, email"
    assert delivered(http_sink) == [(CMD, "FAILING"), (CMD, "OK")]
    assert len(smtp_server.envelopes) == 2


def test_monitor_watch_reports_each_channel(http_sink, smtp_server, settings):
    """The cycle's summary says what each channel did, not "0 alert(s) sent, 1 failed"."""
    settings.MONITORKIT_ALERTS = {
        "webhook": {"url": f"{http_sink.url}/hook", "retries": 0, "timeout": 2},
        "email": {"to": ["ops@example.com"], "from": "monitor@example.com"},
    }
    smtp_server.refuse = REFUSED
    store_run(DatabaseReporter(), CMD, Status.FAILED, utcnow() - dt.timedelta(minutes=1))
    out = io.StringIO()
    call_command("monitor_watch", "--once", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(
        line.startswith(f"alert {CMD}:FAILING:")
        and line.endswith(": sent by webhook, failed on email (will retry)")
        for line in lines
    ), lines
    assert lines[-1].endswith(  # checked sync_payments and the test app's scheduled_command
        " command id(s): 1 change(s); 1 alert(s) sent by webhook, failed on email (will retry); "
        "0 spooled record(s) delivered"
    )
