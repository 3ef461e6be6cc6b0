"""Repeats and escalations of a problem that lasts (``monitorkit/health/followup.py``).

In-process watcher cycles with a clock of their own (the time passes in the clock, not in the
test; one scenario moves the time with freezegun instead, the watcher on its default clock), real
notifiers to the real local SMTP and HTTP servers (``tests/sinks.py``), on the
database store (SQLite and PostgreSQL) and on the local Realtime Database server over real
HTTP: a follow-up is stored through each store's conditional write of a transition.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from freezegun import freeze_time

from monitorkit.alerts.webhook import WebhookNotifier
from monitorkit.conf import monitor_settings
from monitorkit.health.followup import due
from monitorkit.health.watch import Watcher
from monitorkit.record import Status
from monitorkit.retry import RetryPolicy
from monitorkit.stores.base import Reporter
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.stores.firebase.runs import FirebaseReporter
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.test_alert_delivery import (
    CMD,
    alerts,
    at,
    email,
    mailed,
    store_run,
    watcher,
    webhook,
)

pytestmark = pytest.mark.django_db(transaction=True)

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "firebase"]


#: What the webhook hears of a problem repeated three times, then recovered: (health, repeat,
#: escalation) per alert.
THREE_REPEATS_THEN_RECOVERY = [
    ("FAILING", None, False),
    ("FAILING", 1, False),
    ("FAILING", 2, False),
    ("FAILING", 3, False),
    ("OK", None, False),
]


@pytest.fixture(autouse=True)
def _only_these_schedules(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test app's scheduled_command declares a schedule; these tests need none."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)


@pytest.fixture(params=STORES)
def new_reporter(request: pytest.FixtureRequest, settings: Any) -> Callable[[], Reporter]:
    """Make a reporter of the store under test (each call: another watcher's own)."""
    if request.param == "sqlite":
        return DatabaseReporter
    if request.param == "postgresql":
        settings.MONITORKIT_DATABASE_ALIAS = request.getfixturevalue("pg_alias")
        return DatabaseReporter
    server = request.getfixturevalue("rtdb_server")
    settings.FIREBASE_MONITORING = {"DATABASE_URL": server.url}
    settings.FIREBASE_MONITORING_KEY = "alert-repeat-tests"
    settings.MONITORKIT_HTTP_TIMEOUT = 2
    fast = RetryPolicy(attempts=3, base=0.01, cap=0.05)
    return lambda: FirebaseReporter(monitor_settings, retry_policy=fast)


#: The failed run of these tests starts at T0 and ends 5 s later: the problem's time.
T0_RUN = at(0)


def follow_ups(sink: Any) -> list[tuple[str, int | None, bool]]:
    """Return (health, repeat, escalation) of each alert the webhook took, in order."""
    found = []
    for request in sink.requests:
        body = request.json()
        follow = body["follow_up"] or {}
        found.append((body["health"], follow.get("repeat"), bool(follow.get("escalation"))))
    return found


def pager(sink: Any) -> WebhookNotifier:
    """A second webhook, the channel ``pager`` (its requests go to ``/pager``)."""
    notifier = WebhookNotifier(f"{sink.url}/pager", timeout=2, retries=0)
    notifier.name = "pager"
    return notifier


def paths(sink: Any) -> list[tuple[str, str, int | None, bool]]:
    """Return (path, health, repeat, escalation) of each request, in order."""
    return [(r.path, *alert) for r, alert in zip(sink.requests, follow_ups(sink), strict=True)]


def test_a_problem_is_told_every_ten_minutes_three_times_then_its_recovery(
    new_reporter, http_sink, smtp_server, settings
):
    """The run fails at 12:00:05; the watcher cycles every few minutes. Repeats go out at
    12:10:05, 12:20:05 and 12:30:05 (each once, however many cycles come between), each
    saying how long and how many runs failed since; the recovery goes to both channels."""
    settings.MONITORKIT_SCHEDULES[CMD] = {"realert_every": 600}
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), email()])
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    assert cycle(60).describe_alerts() == "1 alert(s) sent by webhook, email"
    assert cycle(300).alerts == []
    store_run(reporter, CMD, Status.FAILED, at(400))  # a retry fails too
    assert cycle(604).follow_ups == []  # the first repeat is due at 605 s
    first = cycle(610)
    assert [(t.follow_up.repeat, t.at) for t in first.follow_ups if t.follow_up] == [(1, at(605))]
    assert first.describe_alerts() == "1 alert(s) sent by webhook, email"
    assert cycle(700).alerts == [] and cycle(1100).alerts == []
    assert len(cycle(1210).follow_ups) == 1
    store_run(reporter, CMD, Status.FAILED, at(1300))
    assert cycle(1500).follow_ups == []
    assert len(cycle(1810).follow_ups) == 1
    store_run(reporter, CMD, Status.FINISHED, at(1900))
    recovery = cycle(1960)
    assert [t.health for t in recovery.transitions] == ["OK"]
    assert recovery.describe_alerts() == "1 alert(s) sent by webhook, email"
    assert cycle(2500).alerts == [] and cycle(3000).follow_ups == []  # nothing after the end

    assert follow_ups(http_sink) == THREE_REPEATS_THEN_RECOVERY
    repeats = [r.json() for r in http_sink.requests[1:4]]
    assert [b["follow_up"]["lasted_seconds"] for b in repeats] == [600.0, 1200.0, 1800.0]
    assert [b["follow_up"]["failed_runs"] for b in repeats] == [2, 2, 3]
    assert [b["follow_up"]["missed_starts"] for b in repeats] == [0, 0, 0]
    assert len({b["id"] for b in repeats}) == 3
    assert (
        "sync_payments is still FAILING: for 20 min, since 2026-11-30 12:00:05 UTC"
        in (repeats[1]["text"])
    )
    assert "Since then: 2 failed run(s), 0 missed start(s)." in repeats[1]["text"]
    assert mailed(smtp_server) == [
        f"Subject: [monitorkit] {CMD} is failing (was NEW)",
        f"Subject: [monitorkit] Still: {CMD} FAILING for 10 min, repeat 1",
        f"Subject: [monitorkit] Still: {CMD} FAILING for 20 min, repeat 2",
        f"Subject: [monitorkit] Still: {CMD} FAILING for 30 min, repeat 3",
        f"Subject: [monitorkit] {CMD} is OK again (was FAILING)",
    ]
    assert alerts(reporter) == [("FAILING", "sent")] * 4 + [("OK", "sent")]


def test_repeats_every_ten_minutes_as_freezegun_moves_the_time_then_the_recovery(
    new_reporter, http_sink, smtp_server, settings
):
    """The same problem with time passing under freezegun: one watcher built with its own
    default clock (as ``monitor_watch`` builds it) cycles as the frozen time is moved on; the
    repeats go out at 10, 20 and 30 minutes, each once, and then the recovery."""
    settings.MONITORKIT_SCHEDULES[CMD] = {"realert_every": 600}
    reporter = new_reporter()
    store = reporter.health_store()
    assert store is not None
    watcher_ = Watcher(reporter, store, [webhook(http_sink), email()])
    with freeze_time(at(0)) as frozen:
        store_run(reporter, CMD, Status.FAILED, T0_RUN)
        frozen.tick(60)
        assert watcher_.cycle().describe_alerts() == "1 alert(s) sent by webhook, email"
        repeats = []
        for minute in range(2, 32):  # a cycle every minute, to 12:31
            frozen.tick(60)
            if minute == 16:
                store_run(reporter, CMD, Status.FAILED, at(960))  # a retry fails too
            repeats += [t.follow_up.repeat for t in watcher_.cycle().follow_ups if t.follow_up]
        assert repeats == [1, 2, 3]
        frozen.move_to(at(1900))
        store_run(reporter, CMD, Status.FINISHED, at(1900))
        frozen.tick(60)
        recovery = watcher_.cycle()
        assert [t.health for t in recovery.transitions] == ["OK"]
        frozen.move_to(at(3000))
        assert watcher_.cycle().alerts == []  # nothing after the end

    assert follow_ups(http_sink) == THREE_REPEATS_THEN_RECOVERY
    bodies = [r.json() for r in http_sink.requests[1:4]]
    assert [b["follow_up"]["lasted_seconds"] for b in bodies] == [600.0, 1200.0, 1800.0]
    assert [b["follow_up"]["failed_runs"] for b in bodies] == [1, 2, 2]
    assert mailed(smtp_server) == [
        f"Subject: [monitorkit] {CMD} is failing (was NEW)",
        f"Subject: [monitorkit] Still: {CMD} FAILING for 10 min, repeat 1",
        f"Subject: [monitorkit] Still: {CMD} FAILING for 20 min, repeat 2",
        f"Subject: [monitorkit] Still: {CMD} FAILING for 30 min, repeat 3",
        f"Subject: [monitorkit] {CMD} is OK again (was FAILING)",
    ]
    assert alerts(reporter) == [("FAILING", "sent")] * 4 + [("OK", "sent")]


def test_a_missed_start_is_repeated_with_the_starts_missed_since(new_reporter, http_sink, settings):
    """An hourly job last ran at 12:00; 13:00 is missed (judged at 13:05, its margin), and so
    are 14:00 and 15:00: the hourly repeats say 1 h and 2 missed starts, then 2 h and 3."""
    settings.MONITORKIT_SCHEDULES["hourly"] = {
        "schedule": "0 * * * *",
        "start_margin": 300,
        "realert_every": 3600,
    }
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink)])
    store_run(reporter, "hourly", Status.FINISHED, T0_RUN)
    for minutes in (30, 66, 100, 126, 186):
        cycle(minutes * 60)
    bodies = [r.json() for r in http_sink.requests]
    assert [(b["health"], b["missed_start"]) for b in bodies] == [
        ("MISSED", "2026-11-30T13:00:00.000000Z"),
        ("MISSED", "2026-11-30T14:00:00.000000Z"),
        ("MISSED", "2026-11-30T15:00:00.000000Z"),
    ]
    follow = [
        (b["follow_up"]["lasted_seconds"], b["follow_up"]["missed_starts"]) for b in bodies[1:]
    ]
    assert follow == [(3600.0, 2), (7200.0, 3)]
    assert "Since then: 0 failed run(s), 3 missed start(s)." in bodies[2]["text"]


def test_a_recovery_goes_to_a_channel_told_only_by_a_repeat(new_reporter, http_sink, settings):
    """The webhook refuses the problem (and every retry within the retry time); a repeat
    reaches it. Its recovery goes to it: it was told of the problem, by the repeat."""
    settings.MONITORKIT_SCHEDULES[CMD] = {"realert_every": 600}
    settings.MONITORKIT_ALERT_RETRY_FOR = 60
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink)])
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    http_sink.respond(500, 500, 500)
    cycle(60)
    cycle(100)
    cycle(200)  # the last try, at the end of the retry time: given up
    assert alerts(reporter) == [("FAILING", "failed")]
    cycle(610)
    assert alerts(reporter) == [("FAILING", "failed"), ("FAILING", "sent")]
    store_run(reporter, CMD, Status.FINISHED, at(700))
    assert cycle(760).describe_alerts() == "1 alert(s) sent by webhook"
    assert [r.status for r in http_sink.requests] == [500, 500, 500, 200, 200]
    assert follow_ups(http_sink)[-2:] == [("FAILING", 1, False), ("OK", None, False)]


def test_an_escalation_goes_once_to_its_channels_too_and_they_hear_the_recovery(
    new_reporter, http_sink, settings
):
    """Repeats every 10 minutes to the command's own channel; after 30 minutes one escalation
    to the pager too (the third repeat and the escalation, due at once, are one alert); the
    pager hears nothing more until the recovery, which goes to both."""
    settings.MONITORKIT_SCHEDULES[CMD] = {
        "channels": ["webhook"],
        "realert_every": 600,
        "escalate_after": 1800,
        "escalate_to": ["pager"],
    }
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), pager(http_sink)])
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    for seconds in (60, 610, 1210, 1500, 1810, 1900, 2410, 3000):
        cycle(seconds)
    store_run(reporter, CMD, Status.FINISHED, at(3100))
    cycle(3160)
    cycle(4000)
    hook, page = "/hook", "/pager"
    assert paths(http_sink) == [
        (hook, "FAILING", None, False),
        (hook, "FAILING", 1, False),
        (hook, "FAILING", 2, False),
        (hook, "FAILING", 3, True),
        (page, "FAILING", 3, True),
        (hook, "FAILING", 4, False),
        (hook, "OK", None, False),
        (page, "OK", None, False),
    ]
    escalation = http_sink.requests[4].json()
    assert escalation["text"].startswith("Escalation: sync_payments is still FAILING: for 30 min")


def test_an_escalation_alone_is_sent_once_after_its_time(new_reporter, http_sink, settings):
    settings.MONITORKIT_SCHEDULES[CMD] = {"escalate_after": 3600, "escalate_to": ["pager"]}
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), pager(http_sink)])
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    cycle(60)
    assert cycle(3604).follow_ups == []  # due at 3605 s
    assert [t.follow_up.key for t in cycle(3700).follow_ups if t.follow_up] == ["escalation"]
    for seconds in (3800, 7300, 11000):
        assert cycle(seconds).alerts == []
    assert Counter((r.path, r.json()["follow_up"] is not None) for r in http_sink.requests) == {
        ("/hook", False): 1,  # the problem
        ("/pager", False): 1,
        ("/hook", True): 1,  # the escalation, once
        ("/pager", True): 1,
    }


def test_a_watcher_that_was_stopped_sends_one_follow_up_for_the_time_it_missed(
    new_reporter, http_sink, settings
):
    settings.MONITORKIT_SCHEDULES[CMD] = {
        "realert_every": 600,
        "escalate_after": 1800,
        "escalate_to": ["pager"],
    }
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink), pager(http_sink)])
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    cycle(60)
    late = cycle(4000)  # 6 repeats and the escalation were due meanwhile
    assert [(t.follow_up.repeat, t.follow_up.escalation) for t in late.follow_ups] == [(6, True)]
    assert late.follow_ups[0].at == at(3605)
    assert cycle(4100).follow_ups == []
    assert [t.follow_up.repeat for t in cycle(4210).follow_ups] == [7]


def test_a_muted_command_repeats_nothing(new_reporter, http_sink, settings):
    settings.MONITORKIT_SCHEDULES[CMD] = {"muted": True, "realert_every": 600}
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink)])
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    for seconds in (60, 610, 1210, 4000):
        assert cycle(seconds).follow_ups == []
    assert alerts(reporter) == [("FAILING", "none")]
    assert http_sink.requests == []


def test_nothing_is_repeated_while_alert_after_has_not_been_reached(
    new_reporter, http_sink, settings
):
    settings.MONITORKIT_SCHEDULES[CMD] = {"alert_after": 2, "realert_every": 600}
    reporter = new_reporter()
    cycle = watcher(reporter, [webhook(http_sink)])
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    for seconds in (60, 610, 1300):
        assert cycle(seconds).follow_ups == []
    assert alerts(reporter) == [("FAILING", "waiting")]
    assert http_sink.requests == []


# --- two and three watchers ------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3])
def test_watchers_cycling_in_turn_send_each_repeat_once(
    new_reporter: Callable[[], Reporter], http_sink, count, settings
):
    """Two or three watchers, each with its own reporter (its own connection or HTTP
    session), cycle in turn every 100 s of the clock for an hour: each repeat and the
    escalation are stored and sent exactly once, and the recovery once."""
    settings.MONITORKIT_SCHEDULES[CMD] = {
        "channels": ["webhook"],
        "realert_every": 600,
        "escalate_after": 1500,
        "escalate_to": ["pager"],
    }
    cycles = [watcher(new_reporter(), [webhook(http_sink), pager(http_sink)]) for _ in range(count)]
    reporter = new_reporter()
    store_run(reporter, CMD, Status.FAILED, T0_RUN)
    for step in range(36):
        for index, cycle in enumerate(cycles):
            cycle(60 + step * 100 + index)  # the same cycle time, give or take a second
    store_run(reporter, CMD, Status.FINISHED, at(3700))
    for index, cycle in enumerate(cycles):
        cycle(3760 + index)
    told = Counter(paths(http_sink))
    assert set(told.values()) == {1}, told
    # Repeats at 605, 1205, 1805... s; the escalation at 1505 s, between the second and the
    # third (the webhook hears it too), the pager nothing else but the recovery.
    assert [alert[1:] for alert in paths(http_sink) if alert[0] == "/hook"] == [
        ("FAILING", None, False),
        ("FAILING", 1, False),
        ("FAILING", 2, False),
        ("FAILING", 0, True),
        ("FAILING", 3, False),
        ("FAILING", 4, False),
        ("FAILING", 5, False),
        ("OK", None, False),
    ]
    assert [alert[1:] for alert in paths(http_sink) if alert[0] == "/pager"] == [
        ("FAILING", 0, True),
        ("OK", None, False),
    ]
    assert alerts(reporter) == [("FAILING", "sent")] * 7 + [("OK", "sent")]


def test_a_watcher_that_reads_a_follow_up_due_while_another_stores_it_stores_nothing(
    new_reporter, http_sink, settings
):
    """Watcher a decides a repeat is due, and before it stores it watcher b stores and sends
    it (b's whole cycle runs in between): a's conditional write fails, nothing is sent twice."""
    settings.MONITORKIT_SCHEDULES[CMD] = {"realert_every": 600}
    one, other = new_reporter(), new_reporter()
    store_run(one, CMD, Status.FAILED, T0_RUN)
    watcher(one, [webhook(http_sink)])(60)
    store = one.health_store()
    assert store is not None
    real_transitions = store.transitions

    def transitions_then_b(command_id: str, limit: int = 20) -> Any:
        found = real_transitions(command_id, limit)
        watcher(other, [webhook(http_sink)])(611)  # b stores and sends repeat 1 meanwhile
        return found

    store.transitions = transitions_then_b  # type: ignore[method-assign]
    report = Watcher(one, store, [webhook(http_sink)], clock=lambda: at(610)).cycle()
    assert report.follow_ups == [] and report.alerts == []
    assert follow_ups(http_sink) == [("FAILING", None, False), ("FAILING", 1, False)]
    assert alerts(one) == [("FAILING", "sent"), ("FAILING", "sent")]


# --- the rule itself ---------------------------------------------------------------------------


def test_due_follow_ups_come_from_the_problem_s_time_never_twice():
    since = at(5)
    every, escalate = dt.timedelta(minutes=10), dt.timedelta(minutes=25)
    assert due(since, since, at(600), every, escalate) is None
    first = due(since, since, at(610), every, escalate)
    assert first is not None and (first.at, first.repeat, first.escalation) == (at(605), 1, False)
    assert due(since, first.at, at(900), every, escalate) is None
    both = due(since, first.at, at(1600), every, escalate)  # repeat 2 at 1205, escalation 1505
    assert both is not None and (both.at, both.repeat, both.escalation) == (at(1505), 2, True)
    assert due(since, both.at, at(1800), every, escalate) is None  # repeat 2 is behind it
    third = due(since, both.at, at(1810), every, escalate)
    assert third is not None and (third.repeat, third.escalation) == (3, False)
    assert due(since, since, at(10_000), None, None) is None
