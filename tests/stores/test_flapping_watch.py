"""Flapping and ``recover_after`` through the watcher, on SQLite, PostgreSQL and the local
Realtime Database server, with real notifiers to the real local SMTP and HTTP servers.

In-process watcher cycles, each with a clock of its own (the hour a flapping command needs to
settle passes on that clock); two and three watchers at once are threads, each a ``Watcher``
with its own reporter (its own connection or HTTP session) and its own notifiers, released
together by a barrier.
"""

# ruff: noqa: F811 - ``reporter`` is test_one_judge's fixture (each store), used by name here

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from monitorkit.alerts.base import Notifier
from monitorkit.alerts.email import EmailNotifier
from monitorkit.alerts.webhook import WebhookNotifier
from monitorkit.health.watch import Watcher
from monitorkit.record import Status, utcnow
from monitorkit.stores import Reporter, store_reporter
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_one_judge import ended, everyone, reporter  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = dt.timedelta(minutes=1)


def notifiers(sink: Any) -> list[Notifier]:
    return [
        WebhookNotifier(f"{sink.url}/hook", timeout=5, retries=0),
        EmailNotifier(to=["ops@example.com"], from_email="monitor@example.com"),
    ]


def cycles(sink: Any, watchers: int) -> Callable[[dt.datetime], None]:
    """Return a function that runs ``watchers`` watchers' cycles at once, at a given time."""

    def run_at(at: dt.datetime) -> None:
        if watchers == 1:
            _one_cycle(store_reporter(), sink, at)
            return
        barrier = threading.Barrier(watchers)
        errors: list[BaseException] = []

        def one() -> None:
            try:
                own = store_reporter()  # in this thread: its own connection or session
                barrier.wait(timeout=30)
                _one_cycle(own, sink, at)
            except BaseException as err:  # reported by the test's thread
                errors.append(err)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=one) for _ in range(watchers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors

    return run_at


def _one_cycle(reporter: Reporter | None, sink: Any, at: dt.datetime) -> None:
    assert reporter is not None
    store = reporter.health_store()
    assert store is not None
    report = Watcher(reporter, store, notifiers(sink), clock=lambda: at).cycle()
    assert report.checked


def sent(sink: Any, inbox: Any) -> list[str]:
    """What each webhook request said, in words: ``FAILING``, ``flapping OK``, ``settled
    FAILING``; and check that the SMTP server got a mail for each, in the same order."""
    said = []
    for request in sink.requests:
        body = request.json()
        notice = body["flapping"]["notice"] + " " if body["flapping"] else ""
        said.append(f"{notice}{body['health']}")
    subjects = [e.content.decode() for e in inbox.envelopes]
    assert len(subjects) == len(said), (subjects, said)
    return said


def stored(reporter: Reporter, command_id: str = "nightly") -> list[tuple[str, str, str, str]]:
    store = reporter.health_store()
    assert store is not None
    return [
        (t.previous, t.health, str(t.notice or ""), alert)
        for _, t, alert in reversed(store.transitions(command_id, limit=50))
    ]


@pytest.mark.parametrize("watchers", [1, 2, 3])
def test_a_flapping_command_sends_one_notice_then_one_alert_when_it_settles(
    reporter: Reporter, settings: Any, http_sink: Any, smtp_server: Any, watchers: int
) -> None:
    settings.MONITORKIT_SCHEDULES["nightly"] = {"flap_threshold": 3}
    start = utcnow() - dt.timedelta(hours=5)
    cycle = cycles(http_sink, watchers)
    # FAILED, FINISHED, FAILED... every five minutes, a watcher cycle a minute after each.
    for n in range(7):
        status = Status.FAILED if n % 2 == 0 else Status.FINISHED
        ended(reporter, n, status, start + 5 * n * MINUTE)
        cycle(start + (5 * n + 1) * MINUTE)
    # The fourth change is more than 3 in an hour: the notice, then quiet.
    assert sent(http_sink, smtp_server) == ["FAILING", "OK", "FAILING", "flapping OK"]
    notice = http_sink.requests[3].json()
    assert "nightly is flapping" in notice["text"]
    assert "changed between good and bad 4 times within an hour" in notice["text"]

    last_change = start + 30 * MINUTE + dt.timedelta(seconds=2)  # the seventh run's end
    cycle(last_change + 30 * MINUTE)
    cycle(last_change + 59 * MINUTE)  # still within the hour: quiet
    assert len(http_sink.requests) == 4
    cycle(last_change + 61 * MINUTE)  # an hour without a change: settled, and still failing
    cycle(last_change + 70 * MINUTE)
    assert sent(http_sink, smtp_server) == [
        "FAILING",
        "OK",
        "FAILING",
        "flapping OK",
        "settled FAILING",
    ]
    assert "has stopped flapping" in http_sink.requests[4].json()["text"]
    assert stored(reporter) == [
        ("NEW", "FAILING", "", "sent"),
        ("FAILING", "OK", "", "sent"),
        ("OK", "FAILING", "", "sent"),
        ("FAILING", "OK", "flapping", "sent"),
        ("OK", "FAILING", "quiet", "none"),
        ("FAILING", "OK", "quiet", "none"),
        ("OK", "FAILING", "quiet", "none"),
        ("FAILING", "FAILING", "settled", "sent"),
    ]

    # Settled: a change is alerted as usual again (its recovery to the channels told).
    ended(reporter, 7, Status.FINISHED, last_change + 80 * MINUTE)
    cycle(last_change + 81 * MINUTE)
    assert sent(http_sink, smtp_server)[5:] == ["OK"]


def test_a_command_that_settles_in_good_health_sends_nothing_more(
    reporter: Reporter, settings: Any, http_sink: Any, smtp_server: Any
) -> None:
    settings.MONITORKIT_SCHEDULES["nightly"] = {"flap_threshold": 1}
    start = utcnow() - dt.timedelta(hours=5)
    cycle = cycles(http_sink, 1)
    for n, status in enumerate([Status.FAILED, Status.FINISHED, Status.FAILED, Status.FINISHED]):
        ended(reporter, n, status, start + 5 * n * MINUTE)
        cycle(start + (5 * n + 1) * MINUTE)
    assert sent(http_sink, smtp_server) == ["FAILING", "flapping OK"]
    cycle(start + 3 * dt.timedelta(hours=1))
    cycle(start + 4 * dt.timedelta(hours=1))
    assert len(http_sink.requests) == 2
    assert stored(reporter)[-2:] == [
        ("OK", "FAILING", "quiet", "none"),
        ("FAILING", "OK", "quiet", "none"),
    ]


def test_recover_after_3_recovers_at_the_third_success_and_every_reader_agrees(
    reporter: Reporter,
    settings: Any,
    http_sink: Any,
    smtp_server: Any,
    admin_client: Any,
    client: Any,
) -> None:
    settings.MONITORKIT_SCHEDULES["nightly"] = {"recover_after": 3}
    start = utcnow() - dt.timedelta(hours=5)
    cycle = cycles(http_sink, 1)
    ended(reporter, 0, Status.FAILED, start)
    cycle(utcnow())
    assert sent(http_sink, smtp_server) == ["FAILING"]

    for n in (1, 2):
        ended(reporter, n, Status.FINISHED, start + n * dt.timedelta(hours=1))
        cycle(utcnow())
        store = reporter.health_store()
        assert store is not None and store.states()["nightly"].health == "FAILING"
        said = everyone(admin_client, client, "nightly")
        assert {health for health, _ in said.values()} == {"FAILING"}, said
        assert recovering(admin_client) == {"successes": n, "needed": 3}
        page = admin_client.get("/monitor/commands/nightly/").content.decode()
        assert f"{n} of 3 successes needed to recover" in page
        assert len(http_sink.requests) == 1, "no recovery yet"
    assert [t[:2] for t in stored(reporter)] == [("NEW", "FAILING")]

    ended(reporter, 3, Status.FINISHED, start + 3 * dt.timedelta(hours=1))
    cycle(utcnow())
    assert sent(http_sink, smtp_server) == ["FAILING", "OK"]
    assert [t[:2] for t in stored(reporter)] == [("NEW", "FAILING"), ("FAILING", "OK")]
    said = everyone(admin_client, client, "nightly")
    assert {health for health, _ in said.values()} == {"OK"}, said
    assert recovering(admin_client) is None


def recovering(admin_client: Any) -> Any:
    """Return what the command's JSON and ``monitor_status --json`` say of the recovery (the
    same, or the test fails)."""
    one = admin_client.get("/monitor/api/commands/nightly.json").json()
    out = io.StringIO()
    call_command("monitor_status", "--json", stdout=out)
    (status,) = [item for item in json.loads(out.getvalue()) if item["id"] == "nightly"]
    assert one["recovering"] == status["recovering"]
    return one["recovering"]


def test_the_notice_goes_to_every_channel_even_with_a_recovery_nobody_was_told_of(
    reporter: Reporter, settings: Any, http_sink: Any, smtp_server: Any
) -> None:
    """With ``alert_after`` 3 the failures were never alerted; the change to OK that makes the
    command flapping is a recovery no channel would hear of, but the notice goes to all."""
    settings.MONITORKIT_SCHEDULES["nightly"] = {"flap_threshold": 1, "alert_after": 3}
    start = utcnow() - dt.timedelta(hours=5)
    cycle = cycles(http_sink, 1)
    for n, status in enumerate([Status.FAILED, Status.FINISHED]):
        ended(reporter, n, status, start + 5 * n * MINUTE)
        cycle(start + (5 * n + 1) * MINUTE)
    assert sent(http_sink, smtp_server) == ["flapping OK"]
    assert stored(reporter) == [
        ("NEW", "FAILING", "", "none"),
        ("FAILING", "OK", "flapping", "waiting"),
    ]


def test_time_passes_with_freezegun_on_the_database_store(
    settings: Any, http_sink: Any, smtp_server: Any
) -> None:
    """The same watcher on its own clock (``utcnow``), time moved by freezegun: quiet for an
    hour after the last change, then one alert for the problem it settled in."""
    from freezegun import freeze_time

    from monitorkit.stores.database.runs import DatabaseReporter

    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "nightly": {"flap_threshold": 2},
    }
    database = DatabaseReporter()
    t0 = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.timezone.utc)

    def cycle(at: dt.datetime) -> None:
        with freeze_time(at):
            Watcher(database, database.health_store(), notifiers(http_sink)).cycle()

    for n in range(4):  # FAILED, FINISHED, FAILED, FINISHED: the third change is the notice
        ended(database, n, Status.FAILED if n % 2 == 0 else Status.FINISHED, t0 + 5 * n * MINUTE)
        cycle(t0 + (5 * n + 1) * MINUTE)
    ended(database, 4, Status.FAILED, t0 + 20 * MINUTE)
    cycle(t0 + 21 * MINUTE)
    assert sent(http_sink, smtp_server) == ["FAILING", "OK", "flapping FAILING"]
    cycle(t0 + 80 * MINUTE)  # the last change ended at 09:20:02: quiet until 10:20:02
    assert len(http_sink.requests) == 3
    cycle(t0 + 81 * MINUTE)
    assert sent(http_sink, smtp_server) == ["FAILING", "OK", "flapping FAILING", "settled FAILING"]


def test_a_channel_that_failed_the_notice_gets_it_with_the_next_change(
    reporter: Reporter, settings: Any, http_sink: Any, smtp_server: Any
) -> None:
    """The webhook refuses the notice (a retry is due in 30 s), the next change comes first:
    it carries the notice to the webhook, and the mail, which took it, is not sent it again."""
    settings.MONITORKIT_SCHEDULES["nightly"] = {"flap_threshold": 1}
    start = utcnow() - dt.timedelta(hours=5)
    cycle = cycles(http_sink, 1)
    ended(reporter, 0, Status.FAILED, start)
    cycle(start + MINUTE)
    http_sink.respond(500)
    ended(reporter, 1, Status.FINISHED, start + 5 * MINUTE)
    cycle(start + 6 * MINUTE)  # the notice: mailed, refused by the webhook
    ended(reporter, 2, Status.FAILED, start + 6 * MINUTE + dt.timedelta(seconds=10))
    cycle(start + 6 * MINUTE + dt.timedelta(seconds=20))  # before the webhook's retry
    answered = [r.json() for r in http_sink.requests if r.status == 200]
    assert [(a["health"], (a["flapping"] or {}).get("notice")) for a in answered] == [
        ("FAILING", None),
        ("FAILING", "flapping"),
    ]
    mails = [e.content.decode() for e in smtp_server.envelopes]
    assert len(mails) == 2 and "is flapping" in mails[1]
    assert stored(reporter)[1:] == [
        ("FAILING", "OK", "flapping", "partial"),  # the mail took it; the webhook's superseded
        ("OK", "FAILING", "flapping", "waiting"),  # carried: sent to the webhook alone
    ]
    store = reporter.health_store()
    assert store is not None
    carried = store.alert("nightly", 3)
    assert carried is not None and sorted(carried.deliveries) == ["email", "webhook"]
