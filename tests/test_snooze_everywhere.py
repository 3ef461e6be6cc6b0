"""A snooze is shown wherever health is: the overview, both JSONs, the metrics, monitor_status.

The one-truth rule for snoozes: a command id whose alerts a snooze (or a maintenance window no
watcher stored yet) holds is marked on every reader at once, and on none once it ended.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit.record import format_timestamp, utcnow
from monitorkit.snoozes import new_snooze
from monitorkit.stores.database.runs import DatabaseReporter
from tests.stores.test_database import make_record
from tests.test_metrics import TOKEN, scrape, value
from tests.test_status_page import store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _two_commands(settings: Any, tmp_path: Any) -> None:
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    settings.MONITORKIT_SPOOL_DIR = str(tmp_path / "spool")
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    store(make_record("export"), 2.0)
    store(make_record("import_feed"), 2.0)


def everywhere(client: Any) -> dict[str, dict[str, Any]]:
    """Return, per command id, what each reader says about its snooze."""
    overview = {
        c["command_id"]: c for c in client.get("/monitor/api/overview.json").json()["commands"]
    }
    html = client.get("/monitor/").content.decode()
    samples = scrape(client)
    out = io.StringIO()
    call_command("monitor_status", "--json", stdout=out, stderr=io.StringIO())
    status = {item["id"]: item for item in json.loads(out.getvalue())}
    table = io.StringIO()
    call_command("monitor_status", stdout=table, stderr=io.StringIO())
    said: dict[str, dict[str, Any]] = {}
    for command_id in ("export", "import_feed"):
        row = html.split(f'data-command-id="{command_id}"', 1)[1].split("</tr>", 1)[0]
        line = next(line for line in table.getvalue().splitlines() if line.startswith(command_id))
        page = client.get(f"/monitor/api/commands/{command_id}.json").json()
        said[command_id] = {
            "overview": (overview[command_id]["snoozed"], overview[command_id]["snoozed_until"]),
            "page": 'class="snoozed"' in row,
            "command": (page["snoozed"], page["snoozed_until"]),
            "metric": value(samples, "monitorkit_snoozed", command_id),
            "status": (status[command_id]["snoozed"], status[command_id]["snoozed_until"]),
            "table": "(snoozed)" in line,
        }
    return said


def marked(until: str | None) -> dict[str, Any]:
    snoozed = until is not None
    return {
        "overview": (snoozed, until),
        "page": snoozed,
        "command": (snoozed, until),
        "metric": float(snoozed),
        "status": (snoozed, until),
        "table": snoozed,
    }


def test_a_snooze_is_marked_on_every_reader_and_gone_from_all_when_it_ends(admin_client):
    health = DatabaseReporter().health_store()
    assert health is not None
    now = utcnow()
    snooze = new_snooze("exp*", "supplier migration", "ops", now, now + dt.timedelta(hours=2))
    health.add_snooze(snooze)
    until = format_timestamp(snooze.until)
    assert everywhere(admin_client) == {"export": marked(until), "import_feed": marked(None)}

    health.end_snooze(snooze.id, utcnow())
    assert everywhere(admin_client) == {"export": marked(None), "import_feed": marked(None)}


def test_a_maintenance_window_no_watcher_stored_is_marked_too(admin_client, settings):
    settings.MONITORKIT_MAINTENANCE = [
        {"match": "import_*", "cron": "* * * * *", "duration": 3600, "reason": "upgrade"}
    ]
    said = everywhere(admin_client)
    assert said["export"] == marked(None)
    found = said["import_feed"]
    assert found["page"] and found["table"] and found["metric"] == 1.0
    assert found["overview"] == found["command"] == found["status"]
    assert found["overview"][0] is True and found["overview"][1] > format_timestamp(utcnow())
