"""A notifier of the project's own, plugged in by its dotted path (``"BACKEND"``), as Django's
e-mail backends are; the built-in channels come through the same door."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit.alerts import Notifier, NotifierError, notifiers_from_settings, problems
from monitorkit.alerts.webhook import WebhookNotifier
from monitorkit.record import Status, utcnow
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.transitions import Transition
from tests.stores.test_database import make_record

HERE = "tests.notifiers.test_backend"


class FileNotifier(Notifier):
    """Appends each alert to a file, one JSON line each: a channel that lives only in tests."""

    name = "file"

    def __init__(self, path: str, fail: bool = False) -> None:
        self.path = path
        self.fail = fail

    def send(self, transition: Transition) -> None:
        if self.fail:
            raise NotifierError("file: told to fail")
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(transition.as_dict()) + "\n")


class Picky(Notifier):
    """Has rules of its own for its entry."""

    @classmethod
    def from_settings(cls, entry: Any, where: str, report: Any) -> list[Notifier]:
        if entry.get("level") not in ("low", "high"):
            report(f"{where}['level'] must be 'low' or 'high'.")
            return []
        return [cls()]


class NotANotifier:
    pass


@pytest.mark.django_db(transaction=True)
def test_a_notifier_plugged_in_by_dotted_path_receives_the_watcher_s_alerts(
    settings: Any, tmp_path: Path
) -> None:
    out = tmp_path / "alerts.jsonl"
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_ALERTS = {"ops-file": {"BACKEND": f"{HERE}.FileNotifier", "path": str(out)}}
    reporter = DatabaseReporter()
    record = make_record("nightly_import", started=utcnow())
    reporter.write(record)
    record.status, record.finished, record.message = Status.FAILED, utcnow(), "disk full"
    reporter.write(record)

    said = io.StringIO()
    call_command("monitor_watch", "--once", stdout=said, stderr=said)

    (line,) = out.read_text().splitlines()
    alert = json.loads(line)
    assert (alert["command_id"], alert["health"]) == ("nightly_import", "FAILING")
    store = reporter.health_store()
    assert store is not None
    ((number, transition, state),) = store.transitions("nightly_import", limit=5)
    assert (transition.health, state) == ("FAILING", "sent")
    stored = store.alert("nightly_import", number)
    assert stored is not None and list(stored.deliveries) == ["ops-file"]  # named by its key


def test_the_door_says_what_is_wrong_with_an_entry(settings: Any) -> None:
    settings.MONITORKIT_ALERTS = {
        "missing": {"BACKEND": "tests.notifiers.nowhere.Notifier"},
        "not-one": {"BACKEND": f"{HERE}.NotANotifier"},
        "no-path": {"BACKEND": 42},
        "bad-args": {"BACKEND": f"{HERE}.FileNotifier", "paht": "/tmp/x"},
        "picky": {"BACKEND": f"{HERE}.Picky", "level": "medium"},
        "pager": {"url": "https://example.com"},  # neither built in nor with a BACKEND
        "email": False,  # a built-in channel switched off
    }
    assert notifiers_from_settings() == []
    found = {p.msg.split("]", 1)[0] + "]": p.id for p in problems() if "[" in p.msg}
    assert found == {
        "MONITORKIT_ALERTS['missing']": "monitorkit.W207",
        "MONITORKIT_ALERTS['not-one']": "monitorkit.W207",
        "MONITORKIT_ALERTS['no-path']": "monitorkit.W207",
        "MONITORKIT_ALERTS['bad-args']": "monitorkit.W207",
        "MONITORKIT_ALERTS['picky']": "monitorkit.W207",
    }
    (unknown,) = [p for p in problems() if p.id == "monitorkit.W202"]
    assert "pager" in unknown.msg and "BACKEND" in unknown.msg
    (bad_args,) = [p for p in problems() if "bad-args" in p.msg]
    assert "raised TypeError" in bad_args.msg and "paht" not in bad_args.msg


def test_a_built_in_channel_through_the_door_keeps_its_rules_and_takes_its_key(
    settings: Any,
) -> None:
    path = "monitorkit.alerts.webhook.WebhookNotifier"
    settings.MONITORKIT_ALERTS = {
        "ops": {"BACKEND": path, "url": "https://hooks.example.com/s3cret", "retries": 9},
        "webhook": {"url": "https://example.com/other"},
    }
    ops, plain = notifiers_from_settings()
    assert isinstance(ops, WebhookNotifier) and ops.retries == 2 and ops.name == "ops"
    assert isinstance(plain, WebhookNotifier) and plain.name == "webhook"
    (problem,) = problems()
    assert problem.id == "monitorkit.W204" and "['ops']['retries']" in problem.msg
    assert "s3cret" not in problem.msg
