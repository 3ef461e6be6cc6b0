"""What an alert says (``monitorkit/alerts/message.py``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from monitorkit.alerts.message import build_alert, safe_text, status_url
from tests.notifiers.values import AT, failed_record, failing_transition
from tests.shapes import TIMESTAMP

SECRETS = ("pg-s3cret", "url-s3cret", "hunter2")


def test_the_alert_says_what_a_person_needs():
    alert = build_alert(failing_transition())
    text = alert.text
    assert alert.title == "import_data__limit_5 is failing (was OK)"
    assert "import_data__limit_5 is failing: its last run failed." in text
    assert "Health: FAILING (was OK)" in text
    assert "When: 2026-03-01 04:05:06 UTC" in text
    assert "Host: worker-7" in text
    assert "Failures in a row: 2" in text
    assert "Message: could not reach https://bob:********@api.example.com/v1" in text
    assert "Exception: ConnectionError" in text
    assert "params limit=5" in text


def test_the_traceback_is_cut_to_its_last_ten_lines():
    alert = build_alert(failing_transition())
    assert alert.traceback_tail is not None
    lines = alert.traceback_tail.splitlines()
    assert len(lines) == 10
    assert lines[0] == "  line 02" and lines[-1].startswith("ConnectionError:")
    assert "line 01" not in alert.text and "most recent call last" not in alert.text


def test_no_secret_reaches_the_alert():
    alert = build_alert(failing_transition())
    everything = alert.text + repr(alert.fields()) + alert.title
    for secret in SECRETS:
        assert secret not in everything
    assert "postgres://app:********@db.internal/prod" in everything
    assert 'password="********"' in everything


@pytest.mark.parametrize(
    "text, expected",
    [
        ("token=abc123 and more", "token=******** and more"),
        ("{'api_key': 'k-123', 'limit': 5}", "{'api_key': '********', 'limit': 5}"),
        ('{"client_secret": "s-1"}', '{"client_secret": "********"}'),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ********"),
        ("limit=5 name: bob", "limit=5 name: bob"),
        ("see https://u:p4ss@h/x", "see https://u:********@h/x"),
    ],
)
def test_safe_text(text, expected):
    assert safe_text(text) == expected


def test_known_secrets_are_masked_in_every_spelling():
    assert safe_text("key a%2Fbc and a/bc", ("a/bc",)) == "key ******** and ********"


def test_status_page_link_only_with_a_base_url(settings):
    settings.MONITORKIT_BASE_URL = None
    alert = build_alert(failing_transition())
    assert alert.url is None and "Status page" not in alert.text
    settings.MONITORKIT_BASE_URL = "https://ops.example.com/monitor/"
    alert = build_alert(failing_transition())
    assert alert.url == "https://ops.example.com/monitor/commands/import_data__limit_5/runs/r1/"
    assert alert.text.endswith("Status page: " + alert.url)


def test_the_link_quotes_the_command_id(settings):
    settings.MONITORKIT_BASE_URL = "http://h"
    assert status_url("a b?c%d") == "http://h/commands/a%20b%3Fc%25d/"


def test_a_command_that_never_ran():
    transition = failing_transition(
        health="MISSED",
        previous="OK",
        record=None,
        host=None,
        failures_in_row=0,
        next_expected=AT + dt.timedelta(hours=1),
    )
    alert = build_alert(transition)
    assert "missed its run" in alert.text
    assert "Host: unknown" in alert.text
    assert "Next expected run: 2026-03-01 05:05:06 UTC" in alert.text
    assert "Last run" not in alert.text and "Failures" not in alert.text
    fields = alert.fields()
    assert fields["run_status"] is None and fields["message"] is None
    assert TIMESTAMP.match(fields["at"]) and TIMESTAMP.match(fields["next_expected"])


def test_the_host_falls_back_to_the_run_s():
    alert = build_alert(failing_transition(host=None))
    assert alert.host == "worker-7"


def test_a_long_message_is_cut():
    alert = build_alert(failing_transition(record=failed_record(message="x" * 5000)))
    assert alert.message is not None and len(alert.message) == 1000


def test_a_repeat_says_how_long_and_how_many_runs_with_its_owner_and_runbook():
    from monitorkit.transitions import FollowUp

    follow = FollowUp(AT, repeat=2, failed_runs=3, missed_starts=1)
    transition = dataclasses.replace(
        failing_transition(),
        at=AT + dt.timedelta(minutes=20),
        follow_up=follow,
        owner="billing team",
        runbook="https://bob:url-s3cret@wiki.example.com/runbook",
    )
    alert = build_alert(transition)
    assert alert.title == "Still: import_data__limit_5 FAILING for 20 min, repeat 2"
    assert alert.text.startswith(
        "import_data__limit_5 is still FAILING: for 20 min, since 2026-03-01 04:05:06 UTC "
        "(repeat 2).\nSince then: 3 failed run(s), 1 missed start(s).\nHealth: FAILING\n"
    )
    assert "Owner: billing team" in alert.text
    assert "Runbook: https://bob:********@wiki.example.com/runbook" in alert.text
    fields = alert.fields()
    assert fields["owner"] == "billing team" and "url-s3cret" not in fields["runbook"]
    assert fields["follow_up"] == {
        "repeat": 2,
        "escalation": False,
        "since": "2026-03-01T04:05:06.789000Z",
        "lasted_seconds": 1200.0,
        "failed_runs": 3,
        "missed_starts": 1,
    }
    assert fields["id"].endswith(":repeat-2")
    escalated = build_alert(
        dataclasses.replace(transition, follow_up=dataclasses.replace(follow, escalation=True))
    )
    assert escalated.title.startswith("ESCALATION: import_data__limit_5 FAILING for 20 min")
    assert escalated.text.startswith("Escalation: import_data__limit_5 is still FAILING")
    assert escalated.fields()["id"].endswith(":escalation")


def test_a_change_of_health_has_no_follow_up_fields():
    fields = build_alert(failing_transition()).fields()
    assert (fields["follow_up"], fields["owner"], fields["runbook"]) == (None, None, None)
