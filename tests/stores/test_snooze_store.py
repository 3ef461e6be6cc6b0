"""Snoozes and maintenance windows in every store, and the watcher's part in them (issue 20, 4).

Each store (SQLite, PostgreSQL, the local Realtime Database server, the test-only file store)
keeps snoozes create-only by id, brings an end forward and never back, and forgets what was
summarised a week ago. The watcher, its clock moved on for each cycle, holds the alerts of the
command ids a snooze or a window matches (their health still judged and stored), sends nothing
for the others' sake, and once it ends stores and sends one summary per command id, once, even
with two watchers cycling at the same moment.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitorkit.health.watch import Watcher
from monitorkit.record import Status, utcnow
from monitorkit.snoozes import KEPT_AFTER_END, Snooze, new_snooze
from monitorkit.stores import Reporter, store_reporter
from monitorkit.stores.health_store import HealthStore
from tests.stores.conftest import make_record
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_one_judge import Told

pytestmark = pytest.mark.django_db(transaction=True)

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "firebase", "file"]
#: Now, to the minute: the runs are written with real times around it (Firebase keeps its
#: ring by start), and each watcher cycle is given its own clock.
T0 = utcnow().replace(second=0, microsecond=0) - dt.timedelta(hours=6)


@pytest.fixture(params=STORES)
def reporter(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> Reporter:
    """The project's store as every reader finds it (``store_reporter``), on each backend."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_STALE_AFTER = 60
    if request.param == "postgresql":
        settings.MONITORKIT_DATABASE_ALIAS = request.getfixturevalue("pg_alias")
    elif request.param == "firebase":
        server = request.getfixturevalue("rtdb_server")
        request.getfixturevalue("reporter_for")(server)
    elif request.param == "file":
        settings.MONITORKIT_STORE = "tests.filestore.FileStore"
        settings.TEST_FILE_STORE = str(tmp_path / "store.json")
    found = store_reporter()
    assert found is not None
    return found


def health_store(reporter: Reporter) -> HealthStore:
    store = reporter.health_store()
    assert store is not None
    return store


def ended(reporter: Reporter, command_id: str, status: Status, at: dt.datetime) -> None:
    """Store a run of ``command_id`` that started at ``at`` and ended two seconds later."""
    # The run id from a checksum of the command id: an id may hold characters a run id may not.
    record = make_record(f"{zlib.crc32(command_id.encode())}-{at:%H%M%S}", command_id, started=at)
    reporter.write(record)
    record.status = status
    record.finished = record.latest = at + dt.timedelta(seconds=2)
    record.message = "the feed is down" if status is Status.FAILED else "Command finished"
    reporter.write(record)


def cycle(reporter: Reporter, at: dt.datetime, told: Told) -> Any:
    return Watcher(reporter, health_store(reporter), [told], clock=lambda: at).cycle()


def said(told: Told) -> list[str]:
    """Return what the notifier was told: ``<command id>:<health>``, or ``...:summary``."""
    return [f"{t.command_id}:{'summary' if t.summary_of else t.health}" for t in told.transitions]


def test_a_snooze_is_stored_once_ended_early_never_late_and_forgotten_a_week_on(
    reporter: Reporter,
) -> None:
    store = health_store(reporter)
    snooze = Snooze("s1", "import_*", "supplier migration", "alice", T0, T0 + dt.timedelta(hours=2))
    assert store.add_snooze(snooze) is True
    assert store.add_snooze(Snooze("s1", "other", "", "bob", T0, T0)) is False  # create-only
    assert store.snoozes() == [snooze]
    early = T0 + dt.timedelta(hours=1)
    assert store.end_snooze("s1", early) == Snooze(
        "s1", "import_*", "supplier migration", "alice", T0, early
    )
    assert store.end_snooze("s1", T0 + dt.timedelta(hours=5)).until == early  # never later
    assert store.end_snooze("nope", early) is None
    store.close_snooze("s1", early)
    store.add_snooze(Snooze("s2", "x", "", "bob", early, early + dt.timedelta(minutes=1)))
    assert [s.closed for s in store.snoozes()] == [early, None]
    store.close_snooze("s2", early + KEPT_AFTER_END + dt.timedelta(minutes=1))
    assert [s.id for s in store.snoozes()] == ["s2"]  # s1 was closed over a week before


def test_a_snooze_holds_exactly_its_commands_and_ends_with_one_summary(
    reporter: Reporter,
) -> None:
    told = Told()
    store = health_store(reporter)
    until = T0 + dt.timedelta(hours=2)
    store.add_snooze(Snooze("s1", "import_*", "supplier migration", "alice", T0, until))
    ended(reporter, "import_orders", Status.FAILED, T0 + dt.timedelta(minutes=10))
    ended(reporter, "nightly", Status.FAILED, T0 + dt.timedelta(minutes=10))
    report = cycle(reporter, T0 + dt.timedelta(minutes=11), told)
    # Both are judged FAILING and stored so; only the one not snoozed is alerted.
    assert sorted(t.command_id for t in report.transitions) == ["import_orders", "nightly"]
    assert said(told) == ["nightly:FAILING"]
    ended(reporter, "import_orders", Status.FAILED, T0 + dt.timedelta(minutes=30))
    cycle(reporter, T0 + dt.timedelta(minutes=31), told)
    assert said(told) == ["nightly:FAILING"]

    report = cycle(reporter, until + dt.timedelta(minutes=1), told)  # the snooze has ended
    assert [s.command_id for s in report.summaries] == ["import_orders"]
    assert said(told) == ["nightly:FAILING", "import_orders:summary"]
    summary = told.transitions[-1]
    assert summary.health == "FAILING" and summary.at == until
    assert summary.id == f"import_orders:summary:s1:{until:%Y-%m-%dT%H:%M:%S.%fZ}"
    text = summary.summary or ""
    assert "by alice: supplier migration" in text
    assert "Meanwhile 1 change(s) of health: NEW -> FAILING" in text
    assert "Runs that failed meanwhile: 2." in text and "Still wrong: it is failing" in text
    assert [s.closed is not None for s in store.snoozes()] == [True]

    cycle(reporter, until + dt.timedelta(minutes=2), told)  # nothing is said twice
    assert len(told.transitions) == 2
    ended(reporter, "import_orders", Status.FINISHED, until + dt.timedelta(minutes=5))
    cycle(reporter, until + dt.timedelta(minutes=6), told)  # its recovery: told of the summary
    assert said(told)[-1] == "import_orders:OK"


def test_two_watchers_at_the_same_moment_store_and_send_the_summary_once(
    reporter: Reporter,
) -> None:
    told = Told()
    store = health_store(reporter)
    store.add_snooze(Snooze("s1", "nightly", "", "alice", T0, T0 + dt.timedelta(hours=1)))
    ended(reporter, "nightly", Status.FAILED, T0 + dt.timedelta(minutes=10))
    cycle(reporter, T0 + dt.timedelta(minutes=11), told)
    at = T0 + dt.timedelta(hours=1, minutes=1)
    first = Watcher(reporter, store, [told], clock=lambda: at)
    second = Watcher(reporter, store, [told], clock=lambda: at)
    # Both read the snooze still open; the second summarises after the first stored its
    # summary (and before it closed the snooze): it finds that summary, and stores none.
    first._silences = second._silences = first._quieten(at)
    assert len(first._summarise({"nightly"}, {}, {})) == 1
    assert second._summarise({"nightly"}, {}, {}) == []
    first.cycle()
    second.cycle()
    assert said(told) == ["nightly:summary"]


def test_a_snooze_in_which_nothing_happened_ends_without_a_word(reporter: Reporter) -> None:
    told = Told()
    store = health_store(reporter)
    ended(reporter, "nightly", Status.FINISHED, T0 - dt.timedelta(minutes=5))
    cycle(reporter, T0 - dt.timedelta(minutes=4), told)
    store.add_snooze(new_snooze("night*", "", "alice", T0, T0 + dt.timedelta(hours=1)))
    ended(reporter, "nightly", Status.FINISHED, T0 + dt.timedelta(minutes=10))
    cycle(reporter, T0 + dt.timedelta(minutes=11), told)
    report = cycle(reporter, T0 + dt.timedelta(hours=1, minutes=1), told)
    assert report.summaries == [] and told.transitions == []
    assert [s.closed is not None for s in store.snoozes()] == [True]


def test_a_maintenance_window_holds_alerts_and_ends_with_a_summary(
    reporter: Reporter, settings: Any
) -> None:
    told = Told()
    # Every day at the hour of T0 in Paris, for an hour: T0 itself is one start.
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    settings.MONITORKIT_MAINTENANCE = [
        {
            "match": "import_*",
            "cron": f"{paris.minute} {paris.hour} * * *",
            "duration": 3600,
            "timezone": "Europe/Paris",
            "reason": "database upgrade",
        }
    ]
    ended(reporter, "import_orders", Status.FAILED, T0 + dt.timedelta(minutes=10))
    cycle(reporter, T0 + dt.timedelta(minutes=11), told)
    assert told.transitions == []  # held: the window is under way
    (window,) = health_store(reporter).snoozes()
    assert window.who == "MONITORKIT_MAINTENANCE" and window.reason == "database upgrade"
    assert (window.start, window.until) == (T0, T0 + dt.timedelta(hours=1))
    cycle(reporter, T0 + dt.timedelta(minutes=12), told)  # stored once, by whichever cycle
    assert len(health_store(reporter).snoozes()) == 1

    cycle(reporter, T0 + dt.timedelta(hours=1, minutes=1), told)
    assert said(told) == ["import_orders:summary"]
    assert "by MONITORKIT_MAINTENANCE: database upgrade" in (told.transitions[0].summary or "")


class Behind:
    """The store as one watcher sees it: the states it read (maybe before another watcher
    stored a summary), and its close of a snooze lost if ``stops`` (it stopped before)."""

    def __init__(self, store: HealthStore, states: dict[str, Any], stops: bool) -> None:
        self.store, self.read, self.stops = store, states, stops

    def states(self) -> dict[str, Any]:
        return self.read

    def close_snooze(self, snooze_id: str, at: dt.datetime) -> None:
        if not self.stops:
            self.store.close_snooze(snooze_id, at)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_summary_another_watcher_is_still_storing_keeps_the_snooze_open(
    reporter: Reporter,
) -> None:
    from monitorkit.health import silence

    told = Told()
    store = health_store(reporter)
    store.add_snooze(Snooze("s1", "nightly", "", "alice", T0, T0 + dt.timedelta(hours=1)))
    ended(reporter, "nightly", Status.FAILED, T0 + dt.timedelta(minutes=10))
    cycle(reporter, T0 + dt.timedelta(minutes=11), told)
    at = T0 + dt.timedelta(hours=1, minutes=1)
    before = store.states()
    silences = silence.read(store, at)
    first = Behind(store, store.states(), stops=True)  # stores the summary, never closes
    assert len(silence.summarise(first, reporter, silences, ["nightly"], {}, {}, "h")) == 1  # type: ignore[arg-type]
    second = Behind(store, before, stops=False)  # read the states before the summary
    assert silence.summarise(second, reporter, silences, ["nightly"], {}, {}, "h") == []  # type: ignore[arg-type]
    assert [s.closed for s in store.snoozes()] == [None]  # not closed on a summary half seen
    cycle(reporter, at, told)  # a cycle that reads the states anew closes it, and sends it
    assert [s.closed is not None for s in store.snoozes()] == [True]
    assert said(told) == ["nightly:summary"]
