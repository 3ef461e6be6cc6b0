"""The embedded store's migrations: in step with the models, and 0007 starts its counters right."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("monitorkit", "0006_watchercycle")]
AFTER = [("monitorkit", "0007_outcome_count")]


def test_the_models_need_no_new_migration() -> None:
    out = io.StringIO()
    call_command("makemigrations", "monitorkit", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_counters_start_at_the_kept_runs_that_ended() -> None:
    """Upgrading counts what the store still holds: ended runs by outcome, not the unfinished."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    run = old.get_model("monitorkit", "CommandRun")
    statuses = ["FINISHED", "FINISHED", "FAILED", "RUNNING", "MISSED"]
    for seq, status in enumerate(statuses, start=1):
        run.objects.create(
            command_id="nightly",
            seq=seq,
            run_id=f"run-{seq}",
            name="nightly",
            status=status,
            started="2026-01-01T00:00:00Z",
        )
    run.objects.create(
        command_id="other",
        seq=1,
        run_id="other-1",
        name="other",
        status="SYSTEM_KILL",
        started="2026-01-01T00:00:00Z",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    count = new.get_model("monitorkit", "OutcomeCount")
    found = {(c.command_id, c.outcome): c.count for c in count.objects.all()}
    assert found == {
        ("nightly", "FINISHED"): 2,
        ("nightly", "FAILED"): 1,
        ("nightly", "MISSED"): 1,
        ("other", "SYSTEM_KILL"): 1,
    }
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the rest of the suite's schema
