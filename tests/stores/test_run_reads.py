"""The command page's reads of one command (``run``, ``command_page``, ``command_outcomes``)
answer as their defaults through ``command_history`` do, on SQLite, PostgreSQL and the local
Realtime Database server: a store's lighter answer must not be a different one."""

# ruff: noqa: F811 - ``reporter`` is test_one_judge's fixture (each store), used by name here

from __future__ import annotations

import datetime as dt

import pytest

from monitorkit.record import Status, outcome_of, utcnow
from monitorkit.stores import Reporter
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_one_judge import ended, reporter  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_reads_of_one_command_agree_with_its_history(reporter: Reporter):
    start = utcnow() - dt.timedelta(hours=10)
    for n in range(7):
        ended(
            reporter, n, Status.FAILED if n == 3 else Status.FINISHED, start + dt.timedelta(hours=n)
        )
    history = reporter.command_history("nightly")
    assert len(history) == 7

    assert reporter.command_page("nightly", 0, 3) == history[:3]
    assert reporter.command_page("nightly", 3, 3) == history[3:6]
    assert reporter.command_page("nightly", 6, 3) == history[6:]
    assert reporter.command_page("nightly", 9, 3) == []
    assert reporter.command_outcomes("nightly") == [outcome_of(run) for run in history]
    assert reporter.command_outcomes("nothing") == []

    failed = next(run for run in history if run.status is Status.FAILED)
    assert reporter.run("nightly", failed.run_id) == failed
    assert reporter.run("nightly", "0123abcd") is None
    assert reporter.run("other", failed.run_id) is None
