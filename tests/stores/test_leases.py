"""``Reporter.take_lease`` on each store: SQLite, PostgreSQL and the local Realtime Database.

A lease is granted while fewer than the limit of other runs are alive, refused naming them
otherwise, released by the holder's outcome and by the staleness rule; on PostgreSQL and
Firebase it costs one round trip (one text sent; one request), granted or refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connections

from monitorkit.conf import monitor_settings
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.stores import Reporter
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.stores.firebase.http import RealtimeDatabaseClient
from tests.stores.conftest import make_record
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture

pytestmark = pytest.mark.django_db(transaction=True)

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "firebase"]
STALE_AFTER = 60


class Trips:
    """Count what a reporter sends its store: SQL texts executed, or HTTP requests."""

    def __init__(self, kind: str, alias: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        if kind == "firebase":
            request = RealtimeDatabaseClient.request

            def counted(client: Any, *args: Any, **kwargs: Any) -> Any:
                self.count += 1
                return request(client, *args, **kwargs)

            monkeypatch.setattr(RealtimeDatabaseClient, "request", counted)
        else:

            def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                self.count += 1
                return execute(sql, params, many, context)

            connections[alias].execute_wrappers.append(wrapper)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, settings: Any, monkeypatch) -> tuple[Reporter, Trips]:
    settings.MONITORKIT_STALE_AFTER = STALE_AFTER
    alias = "default"
    reporter: Reporter
    if request.param == "postgresql":
        alias = request.getfixturevalue("pg_alias")
        settings.MONITORKIT_DATABASE_ALIAS = alias
    if request.param == "firebase":
        server = request.getfixturevalue("rtdb_server")
        reporter = request.getfixturevalue("reporter_for")(server)
    else:
        reporter = DatabaseReporter(monitor_settings)
    return reporter, Trips(request.param, alias, monkeypatch)


def start(n: int, started: dt.datetime | None = None) -> RunRecord:
    return make_record(f"run-{n:05d}", "nightly", started=started)


def test_a_lease_is_granted_then_refused_naming_the_holder(store, request):
    reporter, trips = store
    first = reporter.take_lease(start(1), 1)
    assert first is not None and first.granted and first.holders == ()
    granted_trips, trips.count = trips.count, 0
    second = reporter.take_lease(start(2), 1)
    assert second is not None and not second.granted
    assert second.holders == ("run-00001",)
    if "sqlite" not in request.node.name:  # a file, not a server: no round trip to count
        assert (granted_trips, trips.count) == (1, 1)


def test_a_limit_of_two_grants_two(store):
    reporter, _ = store
    answers = [reporter.take_lease(start(n), 2) for n in range(1, 4)]
    assert [a.granted for a in answers if a is not None] == [True, True, False]
    assert answers[2] is not None and answers[2].holders == ("run-00001", "run-00002")


def test_the_outcome_releases_the_lease(store):
    reporter, _ = store
    holder = start(1)
    assert reporter.take_lease(holder, 1).granted  # type: ignore[union-attr]
    reporter.write(holder)  # its start, as the sender writes it, then a heartbeat
    holder.status, holder.latest = Status.RUNNING, utcnow()
    reporter.write(holder)
    assert not reporter.take_lease(start(2), 1).granted  # type: ignore[union-attr]
    holder.status, holder.finished = Status.FINISHED, utcnow()
    reporter.write(holder)
    assert reporter.take_lease(start(3), 1).granted  # type: ignore[union-attr]


def test_a_stale_holder_lets_go(store):
    reporter, _ = store
    long_ago = utcnow() - dt.timedelta(seconds=STALE_AFTER + 5)
    assert reporter.take_lease(start(1, started=long_ago), 1).granted  # type: ignore[union-attr]
    fresh = reporter.take_lease(start(2), 1)
    assert fresh is not None and fresh.granted and fresh.holders == ()
