"""A counter of runs by outcome (issue 18, item 6): counted as stored, never lowered by retention.

``Reporter.outcome_counts`` and the metric ``monitorkit_runs_ended_total{outcome}``, on SQLite,
PostgreSQL and the local Realtime Database server. A run's first outcome counts once: a second
finish of the run (a kill signal recorded, then the command's end) and a spooled copy of a
finish that was stored already add nothing; retention deleting old runs takes nothing away.
"""

# ruff: noqa: F811 - ``reporter`` is test_one_judge's fixture (each store), used by name here

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import threading
from typing import Any

import pytest
from django.db import connections

from monitorkit.record import Status, utcnow
from monitorkit.stores import Reporter, store_reporter
from tests.stores.conftest import make_record
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_one_judge import TOKEN, ended, reporter  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

START = utcnow().replace(microsecond=0) - dt.timedelta(hours=5)


def at(n: int) -> dt.datetime:
    return START + dt.timedelta(minutes=n)


def counted(reporter: Reporter, command_id: str = "nightly") -> dict[str, int]:
    counts = reporter.outcome_counts()
    assert counts is not None
    return {outcome: n for outcome, n in counts.get(command_id, {}).items() if n}


def scraped(client: Any, command_id: str = "nightly") -> dict[str, float]:
    """Return ``monitorkit_runs_ended_total`` of ``command_id`` by outcome, from a scrape."""
    from prometheus_client.parser import text_string_to_metric_families

    text = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "monitorkit_runs_ended_total"
        and sample.labels.get("command_id") == "nightly" == command_id
    }


def test_each_outcome_counts_once_and_retention_takes_nothing(
    reporter: Reporter, settings: Any
) -> None:
    settings.MONITORKIT_RETENTION = 3
    outcomes = [Status.FINISHED] * 5 + [Status.FAILED] * 2 + [Status.SYSTEM_KILL]
    for n, status in enumerate(outcomes):
        ended(reporter, n, status, at(n))
    assert len(reporter.command_history("nightly")) == 3  # the rest left the store
    assert counted(reporter) == {"FINISHED": 5, "FAILED": 2, "SYSTEM_KILL": 1}

    # A second finish of the newest run (the kill was recorded, then the command ended).
    again = dataclasses.replace(
        reporter.command_history("nightly")[0], message="Killed by SIGTERM (again)"
    )
    reporter.write(again)
    # A spooled copy of a finish stored already, delivered by another process.
    store_reporter().deliver_spooled(again, {})
    # A later finish of the same run from the spool (the kill was stored, the end spooled).
    later = dataclasses.replace(again, latest=again.latest + dt.timedelta(seconds=5))
    store_reporter().deliver_spooled(later, {})
    assert reporter.command_history("nightly")[0].latest == later.latest  # it was stored
    assert counted(reporter) == {"FINISHED": 5, "FAILED": 2, "SYSTEM_KILL": 1}


def test_a_finish_that_is_the_first_write_of_its_run_counts(reporter: Reporter) -> None:
    record = make_record("run-only-end", "nightly", started=at(0), status=Status.FAILED)
    record.finished = record.latest = at(1)
    reporter.write(record)  # its start was never stored (skipped, or it failed)
    assert counted(reporter) == {"FAILED": 1}


def test_a_spooled_finish_of_a_run_stored_unfinished_counts_once(reporter: Reporter) -> None:
    record = make_record("run-spooled", "nightly", started=at(0))
    reporter.write(record)  # the start reached the store; the finish went to the spool
    record.status = Status.FINISHED
    record.finished = record.latest = at(1)
    state = reporter.run_state(record.run_id)
    store_reporter().deliver_spooled(record, state)  # the next run delivers it
    store_reporter().deliver_spooled(record, state)  # and a copy is delivered again
    assert counted(reporter) == {"FINISHED": 1}


def test_missed_starts_count_once(reporter: Reporter) -> None:
    missed = make_record("missed-0001", "nightly", started=at(0), status=Status.MISSED)
    missed.finished = missed.latest = at(0)
    reporter.store_missed(missed)
    store_reporter().store_missed(missed)  # a second watcher hands over the same miss
    assert counted(reporter) == {"MISSED": 1}


def test_runs_ending_at_once_are_all_counted(reporter: Reporter) -> None:
    """The first finishes of a command id race to create its counter: none is lost."""
    errors: list[BaseException] = []
    gate = threading.Barrier(6)

    def finish(n: int) -> None:
        try:
            record = make_record(f"run-race-{n}", "racing", started=at(n))
            record.status = Status.FINISHED
            record.finished = record.latest = at(n) + dt.timedelta(seconds=1)
            mine = store_reporter()
            gate.wait(timeout=30)
            mine.write(record)
        except BaseException as err:
            errors.append(err)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finish, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert counted(reporter, "racing") == {"FINISHED": 6}


def test_the_metric_is_a_counter_that_never_goes_down(
    reporter: Reporter, settings: Any, client: Any
) -> None:
    settings.MONITORKIT_RETENTION = 2
    seen: list[dict[str, float]] = []
    for n, status in enumerate([Status.FINISHED, Status.FAILED] * 3 + [Status.FINISHED]):
        ended(reporter, n, status, at(n))
        seen.append(scraped(client))
    for before, after in itertools.pairwise(seen):
        assert all(after[outcome] >= before[outcome] for outcome in before)
    assert seen[-1] == {
        "FINISHED": 4.0,
        "FAILED": 3.0,
        "SYSTEM_KILL": 0.0,
        "MISSED": 0.0,
        "SKIPPED": 0.0,
    }


def test_a_store_that_keeps_no_count_exports_no_counter(
    settings: Any, client: Any, tmp_path: Any
) -> None:
    """A project's own store without ``outcome_counts`` leaves the metric out, not at 0."""
    settings.MONITORKIT_STORE = "tests.filestore.FileStore"
    settings.TEST_FILE_STORE = str(tmp_path / "runs.json")
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    store = store_reporter()
    assert store is not None and store.outcome_counts() is None
    ended(store, 0, Status.FINISHED, at(0))
    text = client.get("/monitor/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert 'monitorkit_runs_total{command="nightly",command_id="nightly"} 1.0' in text
    assert "monitorkit_runs_ended" not in text
