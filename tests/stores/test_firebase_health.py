"""The watcher's Firebase store against the local Realtime Database server, over real HTTP.

Two watchers are two ``FirebaseHealthStore`` instances with their own reporters (their own
HTTP sessions), racing from two threads where the race is the point.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import requests

from monitorkit.cleaning import Cleaner
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.stores.firebase.health import FirebaseHealthStore
from monitorkit.stores.firebase.runs import FirebaseReporter
from monitorkit.stores.health_store import (
    NONE,
    PENDING,
    SENDING,
    SENT,
    WAITING,
    HealthState,
    OpenAlert,
)
from monitorkit.testing.rtdb_server import RealtimeDatabaseServer
from monitorkit.transitions import Transition

from .conftest import KEY, make_record, run_once

CMD = "nightly_import"
T0 = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.timezone.utc)


class Killed(BaseException):
    """The watcher's process dies here."""


class KilledAfterCreate(FirebaseHealthStore):
    """A watcher killed right after it created the transition node."""

    def _advance(self, after: HealthState, node_of: Callable[[], Any]) -> None:
        raise Killed


class KilledAfterAlert(FirebaseHealthStore):
    """A watcher killed after it moved ``alerts/<id>``, before it wrote ``health/<id>``."""

    def _advance(self, after: HealthState, node_of: Callable[[], Any]) -> None:
        self._move_alert(after.command_id, after.number, node_of)
        raise Killed


class Interrupted(FirebaseHealthStore):
    """A watcher that ``meanwhile`` overtakes just before it writes the alert and the state."""

    meanwhile: Callable[[], None] = staticmethod(lambda: None)

    def _advance(self, after: HealthState, node_of: Callable[[], Any]) -> None:
        self.meanwhile()
        super()._advance(after, node_of)


@pytest.fixture
def server_and_stores(
    rtdb_server: RealtimeDatabaseServer, reporter_for: Callable[..., FirebaseReporter]
) -> tuple[RealtimeDatabaseServer, FirebaseHealthStore, FirebaseHealthStore]:
    return rtdb_server, health_of(reporter_for(rtdb_server)), health_of(reporter_for())


def health_of(reporter: FirebaseReporter) -> FirebaseHealthStore:
    """The watcher's store beside ``reporter``; the test keeps the reporter at hand on it."""
    store = reporter.health_store()
    store.reporter = reporter  # type: ignore[attr-defined] - the test's handle, not the store's
    return store


def raw(server: RealtimeDatabaseServer, path: str) -> Any:
    response = requests.get(f"{server.url}/{KEY}/{path}.json", timeout=5)
    response.raise_for_status()
    return response.json()


def raw_put(server: RealtimeDatabaseServer, path: str, value: Any) -> None:
    requests.put(f"{server.url}/{KEY}/{path}.json", json=value, timeout=5).raise_for_status()


def child(value: Any, key: int) -> Any:
    """Return child ``key`` of a node read back as an array or an object."""
    return value[key] if isinstance(value, list) else value[str(key)]


def calls(server: RealtimeDatabaseServer, action: Callable[[], Any]) -> list[tuple[str, str]]:
    """Run ``action``; return its requests as (method, path under the key)."""
    server.clear_requests()
    action()
    prefix = f"/{KEY}"
    return [(r.method, r.path[len(prefix) :].removesuffix(".json")) for r in server.requests]


def state(number: int, health: str = "OK", command_id: str = CMD) -> HealthState:
    return HealthState(command_id, health, T0 + dt.timedelta(hours=number), T0, number)


def change(previous: str, health: str, hours: int, command_id: str = CMD) -> Transition:
    return Transition(command_id, previous, health, T0 + dt.timedelta(hours=hours))


def store_change(
    store: FirebaseHealthStore, number: int, previous: str, health: str, alert: str
) -> Transition:
    """Store transition ``number`` from ``previous`` to ``health``, as the watcher would."""
    transition = change(previous, health, number)
    after = HealthState(CMD, health, transition.at, T0, number)
    assert store.record_transition(state(number - 1, previous), after, transition, alert)
    return transition


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions on threads released at once; return their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)
    errors: list[BaseException] = []

    def run(index: int, action: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = action()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    return results


# --- health ---------------------------------------------------------------------------------------


def test_first_sight_is_stored_once_and_the_first_watcher_wins(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    first = HealthState(CMD, "NEW", T0, T0, 0, T0 + dt.timedelta(days=1))
    later = HealthState(CMD, "OK", T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=1))

    assert calls(server, lambda: a.record_first_sight(first)) == [
        ("GET", f"/health/{CMD}"),
        ("PUT", f"/health/{CMD}"),
    ]
    assert calls(server, lambda: b.record_first_sight(later)) == [("GET", f"/health/{CMD}")]

    assert raw(server, f"health/{CMD}") == {
        "command_id": CMD,
        "health": "NEW",
        "since": "2026-01-05T03:00:00.000000Z",
        "first_seen": "2026-01-05T03:00:00.000000Z",
        "number": 0,
        "next_expected": "2026-01-06T03:00:00.000000Z",
    }
    assert calls(server, lambda: b.states()) == [("GET", "/health")]
    assert b.states() == {CMD: first}


def test_racing_first_sights_store_one_state(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    server.set_latency(0.02)  # both read "absent" before either writes
    race(
        lambda: a.record_first_sight(HealthState(CMD, "NEW", T0, T0)),
        lambda: b.record_first_sight(HealthState(CMD, "OK", T0, T0 + dt.timedelta(hours=1))),
    )
    assert a.states()[CMD].first_seen == b.states()[CMD].first_seen


def test_update_state_writes_only_next_expected(server_and_stores: Any) -> None:
    server, a, _ = server_and_stores
    a.record_first_sight(state(0, "NEW"))
    store_change(a, 1, "NEW", "MISSED", PENDING)
    following = T0 + dt.timedelta(days=2)
    # A watcher's out-of-date view of the state: only next_expected is written, never the rest.
    outdated = HealthState(CMD, "NEW", T0, T0, 0, following)
    assert calls(server, lambda: a.update_state(outdated)) == [("PATCH", f"/health/{CMD}")]
    moved = HealthState(CMD, "MISSED", T0 + dt.timedelta(hours=1), T0, 1, following)
    assert a.states()[CMD] == moved


# --- transitions ----------------------------------------------------------------------------------


def test_a_transition_is_stored_as_documented(server_and_stores: Any) -> None:
    server, a, _ = server_and_stores
    metadata = Cleaner((), CMD).data({"a.b": 1})  # as every record is stored
    record = make_record("run-1", CMD, status=Status.FAILED, started=T0, metadata=metadata)
    transition = Transition(CMD, "OK", "FAILING", T0, record, "web-1", 1)
    after = HealthState(CMD, "FAILING", T0, T0, 1)

    got = calls(server, lambda: a.record_transition(state(0), after, transition, PENDING))

    assert got == [
        ("GET", f"/transitions/{CMD}/1"),
        ("PUT", f"/transitions/{CMD}/1"),
        ("GET", f"/alerts/{CMD}"),
        ("PUT", f"/alerts/{CMD}"),
        ("PATCH", ""),
    ]
    node = child(raw(server, f"transitions/{CMD}"), 1)
    assert node["alert"] == PENDING and node["id"] == transition.id and node["stored_by"]
    assert node["record"]["metadata"] == {"a_b": 1}
    assert Transition.from_dict(node).id == transition.id
    alert = raw(server, f"alerts/{CMD}")
    assert {alert["number"], alert["state"]} == {1, PENDING}
    assert alert["transition"]["id"] == transition.id and "alert" not in alert["transition"]
    assert a.states()[CMD] == after
    assert [(n, t.id, s) for n, t, s in a.transitions(CMD)] == [(1, transition.id, PENDING)]


def test_no_alert_costs_no_alert_write(server_and_stores: Any) -> None:
    server, a, _ = server_and_stores
    got = calls(server, lambda: store_change(a, 1, "NEW", "LATE", NONE))
    assert [method for method, _ in got] == ["GET", "PUT", "GET", "PATCH"]
    assert raw(server, "alerts") is None


def test_of_two_racing_watchers_one_stores_the_transition(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    server.set_latency(0.02)  # both read "absent" before either writes
    for number in range(1, 4):
        transition = change("OK", "FAILING", number)
        after = HealthState(CMD, "FAILING", transition.at, T0, number)
        won = race(
            *(
                partial(store.record_transition, state(number - 1), after, transition, PENDING)
                for store in (a, b)
            )
        )
        assert sorted(won) == [False, True]
    server.set_latency(0)
    assert [n for n, _, _ in a.transitions(CMD)] == [3, 2, 1]
    assert a.states()[CMD].number == 3
    assert [alert.number for alert in a.open_alerts()] == [3]
    assert [state for _, _, state in a.transitions(CMD)] == [PENDING, NONE, NONE]


def test_the_loser_of_a_race_writes_nothing(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    transition = change("OK", "FAILING", 1)
    after = HealthState(CMD, "FAILING", transition.at, T0, 1)
    assert a.record_transition(state(0), after, transition, PENDING)
    got = calls(server, lambda: b.record_transition(state(0), after, transition, PENDING))
    assert got == [("GET", f"/transitions/{CMD}/1"), ("GET", f"/health/{CMD}")]


def test_a_transition_left_half_done_by_a_killed_watcher_is_completed(
    server_and_stores: Any,
) -> None:
    server, a, b = server_and_stores
    killed = KilledAfterCreate(a.tree)
    transition = change("OK", "FAILING", 1)
    after = HealthState(CMD, "FAILING", transition.at, T0, 1)
    with pytest.raises(Killed):
        killed.record_transition(state(0), after, transition, PENDING)
    assert raw(server, "health") is None and raw(server, "alerts") is None

    assert b.record_transition(state(0), after, transition, PENDING) is False  # stored before

    assert b.states()[CMD] == after
    assert [(alert.number, alert.state, alert.transition) for alert in b.open_alerts()] == [
        (1, PENDING, transition)
    ]
    assert b.record_transition(state(0), after, transition, PENDING) is False
    assert len(b.open_alerts()) == 1


def test_completion_follows_the_stored_transition_whatever_the_next_watcher_judged(
    server_and_stores: Any,
) -> None:
    _, a, b = server_and_stores
    stored = change("OK", "FAILING", 1)
    with pytest.raises(Killed):
        KilledAfterCreate(a.tree).record_transition(
            state(0), HealthState(CMD, "FAILING", stored.at, T0, 1), stored, PENDING
        )
    other = change("OK", "STALE", 2)
    assert not b.record_transition(
        state(0), HealthState(CMD, "STALE", other.at, T0, 1), other, PENDING
    )
    assert b.states()[CMD] == HealthState(CMD, "FAILING", stored.at, T0, 1)
    assert [alert.transition.id for alert in b.open_alerts()] == [stored.id]
    # The state moved on, so the next cycle judges from number 1 and stores its change as 2.
    assert b.record_transition(
        b.states()[CMD], HealthState(CMD, "STALE", other.at, T0, 2), other, PENDING
    )


def test_completion_supersedes_the_earlier_alert(server_and_stores: Any) -> None:
    _, a, b = server_and_stores
    store_change(a, 1, "OK", "MISSED", PENDING)
    recovery = change("MISSED", "OK", 2)
    after = HealthState(CMD, "OK", recovery.at, T0, 2)
    with pytest.raises(Killed):
        KilledAfterCreate(a.tree).record_transition(state(1, "MISSED"), after, recovery, PENDING)
    assert [alert.number for alert in b.open_alerts()] == [1]  # the kill left it open

    assert not b.record_transition(state(1, "MISSED"), after, recovery, PENDING)

    assert [alert.number for alert in b.open_alerts()] == [2]
    assert [(n, s) for n, _, s in b.transitions(CMD)] == [(2, PENDING), (1, NONE)]


def test_completion_after_the_alert_moved_only_writes_the_state(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    transition = change("OK", "FAILING", 1)
    after = HealthState(CMD, "FAILING", transition.at, T0, 1)
    with pytest.raises(Killed):
        KilledAfterAlert(a.tree).record_transition(state(0), after, transition, PENDING)
    assert raw(server, f"alerts/{CMD}")["number"] == 1 and raw(server, "health") is None

    got = calls(server, lambda: b.record_transition(state(0), after, transition, PENDING))

    assert got == [
        ("GET", f"/transitions/{CMD}/1"),
        ("GET", f"/health/{CMD}"),
        ("GET", f"/alerts/{CMD}"),
        ("PATCH", ""),
    ]
    assert b.states()[CMD] == after
    assert [alert.number for alert in b.open_alerts()] == [1]


def test_an_alert_settled_before_the_completion_is_not_reopened(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    transition = change("OK", "FAILING", 1)
    after = HealthState(CMD, "FAILING", transition.at, T0, 1)
    with pytest.raises(Killed):
        KilledAfterAlert(a.tree).record_transition(state(0), after, transition, PENDING)
    [alert] = b.open_alerts()
    assert b.claim_alert(alert, utcnow(), 60)
    b.settle_alert(alert, SENT, "sent by email", utcnow())

    assert not a.record_transition(state(0), after, transition, PENDING)

    assert a.open_alerts() == [] and raw(server, "alerts") is None
    assert a.states()[CMD] == after
    assert [(n, s) for n, _, s in a.transitions(CMD)] == [(1, SENT)]


def test_an_alert_settled_while_the_completion_runs_is_not_reopened(
    server_and_stores: Any,
) -> None:
    server, a, b = server_and_stores
    transition = change("OK", "FAILING", 1)
    after = HealthState(CMD, "FAILING", transition.at, T0, 1)
    with pytest.raises(Killed):
        KilledAfterAlert(a.tree).record_transition(state(0), after, transition, PENDING)

    def send_it() -> None:  # after the completer read the transition as pending
        [alert] = b.open_alerts()
        assert b.claim_alert(alert, utcnow(), 60)
        b.settle_alert(alert, SENT, "sent by email", utcnow())

    completer = Interrupted(a.tree)
    completer.meanwhile = send_it
    assert not completer.record_transition(state(0), after, transition, PENDING)

    assert raw(server, "alerts") is None and a.states()[CMD] == after
    assert [(n, s) for n, _, s in a.transitions(CMD)] == [(1, SENT)]


def test_only_the_newest_100_transitions_are_kept(server_and_stores: Any) -> None:
    server, a, _ = server_and_stores
    for number in (50, 51):
        raw_put(server, f"transitions/{CMD}/{number}", {**change("OK", "LATE", number).as_dict()})
    store_change(a, 150, "OK", "LATE", NONE)
    assert sorted(raw(server, f"transitions/{CMD}")) == ["150", "51"]
    assert [n for n, _, _ in a.transitions(CMD, limit=2)] == [150, 51]


# --- alerts ---------------------------------------------------------------------------------------


def test_open_alerts_is_one_request_and_lists_only_open_ones(server_and_stores: Any) -> None:
    server, a, _ = server_and_stores
    for index, command_id in enumerate(("b_cmd", "a_cmd", "c_cmd")):
        transition = change("OK", "MISSED", 10 - index, command_id)
        after = HealthState(command_id, "MISSED", transition.at, T0, 1)
        alert = NONE if command_id == "c_cmd" else PENDING
        assert a.record_transition(state(0, command_id=command_id), after, transition, alert)
    got: list[OpenAlert] = []
    assert calls(server, lambda: got.extend(a.open_alerts())) == [("GET", "/alerts")]
    assert [(alert.transition.command_id, alert.state) for alert in got] == [
        ("a_cmd", PENDING),  # oldest transition first
        ("b_cmd", PENDING),
    ]


def test_a_claim_holds_until_its_lease_ends(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    store_change(a, 1, "OK", "FAILING", PENDING)
    [alert] = a.open_alerts()
    now = utcnow()

    got = calls(server, lambda: a.claim_alert(alert, now, 60))
    assert got == [
        ("GET", f"/alerts/{CMD}"),
        ("PUT", f"/alerts/{CMD}"),
        ("PATCH", f"/transitions/{CMD}/1"),
    ]
    [claimed] = b.open_alerts()
    assert (claimed.state, claimed.claimed_at) == (SENDING, now)
    assert [s for _, _, s in b.transitions(CMD)] == [SENDING]

    assert not b.claim_alert(claimed, now + dt.timedelta(seconds=59), 60)
    assert b.claim_alert(claimed, now + dt.timedelta(seconds=61), 60)  # the sender died
    assert not a.claim_alert(claimed, now + dt.timedelta(seconds=62), 60)
    assert not a.claim_alert(OpenAlert(alert.transition, 7, PENDING), now, 60)  # no such alert


def test_of_two_racing_claims_one_wins(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    store_change(a, 1, "OK", "FAILING", PENDING)
    [alert] = a.open_alerts()
    server.set_latency(0.02)
    now = utcnow()
    won = race(lambda: a.claim_alert(alert, now, 60), lambda: b.claim_alert(alert, now, 60))
    assert sorted(won) == [False, True]


def test_settling_closes_the_alert_and_records_the_outcome(server_and_stores: Any) -> None:
    server, a, _ = server_and_stores
    store_change(a, 1, "OK", "FAILING", PENDING)
    [alert] = a.open_alerts()
    now = utcnow()
    assert a.claim_alert(alert, now, 60)

    got = calls(server, lambda: a.settle_alert(alert, SENT, "sent by email", now))

    assert got == [
        ("PATCH", f"/transitions/{CMD}/1"),
        ("GET", f"/alerts/{CMD}"),
        ("PUT", f"/alerts/{CMD}"),
    ]
    assert raw(server, "alerts") is None and a.open_alerts() == []
    node = child(raw(server, f"transitions/{CMD}"), 1)
    assert (node["alert"], node["detail"]) == (SENT, "sent by email")
    assert "claimed_at" not in node and node["alerted_at"].startswith(now.strftime("%Y-%m-%dT"))


def test_settling_waiting_puts_the_alert_back(server_and_stores: Any) -> None:
    _, a, b = server_and_stores
    store_change(a, 1, "OK", "FAILING", WAITING)
    [alert] = a.open_alerts()
    now = utcnow()
    assert a.claim_alert(alert, now, 60)
    a.settle_alert(alert, WAITING, "below alert_after", now)
    [back] = b.open_alerts()
    assert (back.number, back.state, back.claimed_at) == (1, WAITING, None)
    assert b.claim_alert(back, now, 60)


def test_a_new_transition_supersedes_an_unsent_alert(server_and_stores: Any) -> None:
    _, a, b = server_and_stores
    store_change(a, 1, "OK", "FAILING", WAITING)
    store_change(b, 2, "FAILING", "OK", PENDING)
    assert [alert.number for alert in a.open_alerts()] == [2]
    node = a.transitions(CMD)
    assert [(n, s) for n, _, s in node] == [(2, PENDING), (1, NONE)]


def test_a_superseded_alert_being_sent_keeps_its_outcome(server_and_stores: Any) -> None:
    _, a, b = server_and_stores
    store_change(a, 1, "OK", "MISSED", PENDING)
    [sending] = a.open_alerts()
    assert a.claim_alert(sending, utcnow(), 60)

    store_change(b, 2, "MISSED", "RUNNING", PENDING)  # while a sends
    assert [(n, s) for n, _, s in b.transitions(CMD)] == [(2, PENDING), (1, NONE)]

    a.settle_alert(sending, SENT, "sent by webhook", utcnow())  # it was sent after all
    assert [(n, s) for n, _, s in b.transitions(CMD)] == [(2, PENDING), (1, SENT)]
    assert [alert.number for alert in b.open_alerts()] == [2]  # the settle left it alone


# --- runs -----------------------------------------------------------------------------------------


def finish(reporter: FirebaseReporter, run_id: str, command_id: str, status: Status) -> None:
    record = make_record(run_id, command_id, started=utcnow())
    reporter.write(record)
    record.status = status
    record.finished = record.latest = record.started + dt.timedelta(seconds=1)
    reporter.write(record)


def test_judge_runs_reads_history_only_for_ids_not_finished_well(server_and_stores: Any) -> None:
    server, a, _ = server_and_stores
    reporter = a.reporter
    run_once(reporter, make_record("ok-1", "healthy"))
    finish(reporter, "f-1", "failing", Status.FINISHED)
    finish(reporter, "f-2", "failing", Status.FAILED)
    finish(reporter, "f-3", "failing", Status.FAILED)

    got: dict[str, list[RunRecord]] = {}
    assert calls(server, lambda: got.update(a.reporter.judge_runs(3))) == [
        ("GET", "/latest"),
        ("GET", "/commands/failing"),
    ]
    assert {key: [r.run_id for r in runs] for key, runs in got.items()} == {
        "failing": ["f-3", "f-2", "f-1"],
        "healthy": ["ok-1"],
    }
    assert calls(server, lambda: a.reporter.judge_runs(1)) == [("GET", "/latest")]

    for index in range(2, 8):  # a longer history of the healthy id costs nothing more
        run_once(reporter, make_record(f"ok-{index}", "healthy"))
    assert len(calls(server, lambda: a.reporter.judge_runs(3))) == 2
    assert [r.run_id for r in a.reporter.judge_runs(3)["healthy"]] == ["ok-7"]


def test_a_missed_run_is_stored_once(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    missed = make_record(
        "missed-0001", CMD, status=Status.MISSED, started=T0, finished=T0, message="Missed"
    )
    a.reporter.store_missed(missed)
    got = calls(server, lambda: b.reporter.store_missed(missed))
    assert got == [("GET", f"/commands/{CMD}/missed")]  # kept already: nothing written
    assert raw(server, f"commands/{CMD}/log") is None  # never in the ring of runs
    kept = raw(server, f"commands/{CMD}/missed")
    assert [(key, run["status"]) for key, run in kept.items()] == [("missed-0001", "MISSED")]
    assert [r.run_id for r in a.reporter.judge_runs(2)[CMD]] == ["missed-0001"]


def test_two_watchers_storing_one_miss_at_once_store_it_once(server_and_stores: Any) -> None:
    server, a, b = server_and_stores
    missed = make_record(
        "missed-0002", CMD, status=Status.MISSED, started=T0, finished=T0, message="Missed"
    )
    threads = [
        threading.Thread(target=store.reporter.store_missed, args=(missed,)) for store in (a, b)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert list(raw(server, f"commands/{CMD}/missed")) == ["missed-0002"]
    assert raw(server, f"commands/{CMD}/log") is None
