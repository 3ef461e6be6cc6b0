"""Routing and repeats through real processes: ``manage.py`` runs and ``monitor_watch --once``.

On SQLite and PostgreSQL (``store_project``), alerts to the real local SMTP and HTTP servers.
Time passes for real here (a repeat every second); no test waits a fixed time: each runs
watcher cycles until the sink shows what it waits for, within a generous limit.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.process import Project, wait_for
from tests.test_watch_processes import _smtp_port, watch_once, watch_settings

# The watcher's judgement and alerts across real processes (routing, repeats and escalation):
# their subject does not change with the Python or Django version, and the legs run the same
# features' in-process tests: on the main leg only (CI's time).
pytestmark = [pytest.mark.subprocess, pytest.mark.main_leg]

RUNBOOK = "https://wiki.example.com/runbooks/feeds"


def routed_settings(sink: Any, inbox_port: int, **schedules: Any) -> dict[str, Any]:
    """flaky_command goes to the mail (a route), fail_command to the webhook (its own)."""
    settings = watch_settings(sink, inbox_port=inbox_port, **schedules)
    settings["MONITORKIT_ALERT_ROUTES"] = [
        {"match": "flaky_*", "channels": ["email"], "owner": "feeds team", "runbook": RUNBOOK}
    ]
    settings["MONITORKIT_SCHEDULES"].setdefault("fail_command", {})
    settings["MONITORKIT_SCHEDULES"]["fail_command"].update(
        {"channels": ["webhook"], "owner": "ops"}
    )
    return settings


def test_monitor_watch_sends_each_command_s_alerts_to_its_own_channel(
    store_project: Project, http_sink, smtp_server
):
    settings = routed_settings(http_sink, _smtp_port(smtp_server))
    (store_project.db_dir / "failing").touch()
    assert store_project.run("flaky_command", settings=settings).returncode == 1
    assert store_project.run("fail_command", settings=settings).returncode == 1
    watch_once(store_project, settings)
    watch_once(store_project, settings)  # nothing changed: nothing is sent again

    (request,) = http_sink.requests
    body = request.json()
    assert (body["command_id"], body["health"], body["owner"]) == ("fail_command", "FAILING", "ops")
    assert body["runbook"] is None and "Owner: ops" in body["text"]
    (envelope,) = smtp_server.envelopes
    mail = envelope.content.decode()
    assert "flaky_command" in mail and "fail_command" not in mail
    assert "Owner: feeds team" in mail and f"Runbook: {RUNBOOK}" in mail

    (store_project.db_dir / "failing").unlink()
    assert store_project.run("flaky_command", settings=settings).returncode == 0
    watch_once(store_project, settings)
    assert len(http_sink.requests) == 1  # fail_command still fails: nothing new
    assert len(smtp_server.envelopes) == 2
    assert "flaky_command is OK again" in smtp_server.envelopes[1].content.decode()


def test_three_watchers_at_once_send_each_repeat_once(store_project: Project, http_sink):
    """flaky_command fails and is repeated every second; rounds of three ``monitor_watch
    --once`` started together race for each repeat. Each is sent once, in order; then the
    recovery, once."""
    settings = watch_settings(http_sink, flaky_command={"realert_every": 1})
    (store_project.db_dir / "failing").touch()
    assert store_project.run("flaky_command", settings=settings).returncode == 1

    def repeats() -> list[int]:
        return [
            r.json()["follow_up"]["repeat"] for r in http_sink.requests if r.json()["follow_up"]
        ]

    printed: list[str] = []

    def race() -> None:
        watchers = [
            store_project.popen("monitor_watch", "--once", settings=settings) for _ in "abc"
        ]
        for watcher in watchers:
            stdout, stderr = watcher.communicate(timeout=60)
            assert watcher.returncode == 0, stderr
            printed.append(stdout)

    wait_for(lambda: race() or len(repeats()) >= 3, timeout=180, pause=0)
    (store_project.db_dir / "failing").unlink()
    assert store_project.run("flaky_command", settings=settings).returncode == 0
    race()
    race()

    ids = Counter(r.json()["id"] for r in http_sink.requests)
    assert set(ids.values()) == {1}, ids
    healths = [r.json()["health"] for r in http_sink.requests]
    assert healths[0] == "FAILING" and healths[-1] == "OK" and healths.count("OK") == 1
    assert repeats() == sorted(set(repeats()))  # each later than the one before
    # Each follow-up is printed by the watcher that stored it, once.
    lines = [line for out in printed for line in out.splitlines() if "still FAILING" in line]
    assert len(lines) == len(repeats()) and all("flaky_command" in line for line in lines)


def test_monitor_watch_escalates_once_to_the_pager_while_the_team_hears_the_problem(
    store_project: Project, http_sink, smtp_server
):
    """Two named channels: ``team`` (a webhook) and ``pager`` (the mail). flaky_command fails,
    is routed to the team, repeated every second and escalated to the pager after two.
    ``monitor_watch --once`` processes run as the time passes for real, until the pager has
    the escalation and the team a repeat after it: the pager got it once, and nothing else
    until the recovery, which both hear."""
    settings = watch_settings(
        http_sink,
        inbox_port=_smtp_port(smtp_server),
        flaky_command={
            "channels": ["team"],
            "realert_every": 1,
            "escalate_after": 2,
            "escalate_to": ["pager"],
        },
    )
    settings["MONITORKIT_ALERTS"] = {
        "team": {
            "BACKEND": "monitorkit.alerts.webhook.WebhookNotifier",
            "url": f"{http_sink.url}/team",
            "retries": 0,
            "timeout": 2,
        },
        "pager": {
            "BACKEND": "monitorkit.alerts.email.EmailNotifier",
            "to": ["pager@example.com"],
            "from": "monitor@example.com",
        },
    }
    (store_project.db_dir / "failing").touch()
    assert store_project.run("flaky_command", settings=settings).returncode == 1

    def team() -> list[tuple[str, Any, bool]]:
        said = []
        for request in http_sink.requests:
            assert request.path == "/team"
            body = request.json()
            follow = body["follow_up"] or {}
            said.append((body["health"], follow.get("repeat"), bool(follow.get("escalation"))))
        return said

    def escalated_then_repeated() -> bool:
        watch_once(store_project, settings)
        escalations = [i for i, alert in enumerate(team()) if alert[2]]
        return bool(escalations) and len(team()) >= escalations[0] + 2

    wait_for(escalated_then_repeated, timeout=120, pause=0)
    (store_project.db_dir / "failing").unlink()
    assert store_project.run("flaky_command", settings=settings).returncode == 0
    watch_once(store_project, settings)
    watch_once(store_project, settings)

    said = team()
    assert said[0] == ("FAILING", None, False) and said[-1] == ("OK", None, False)
    assert [alert for alert in said if alert[2]] == [said[[a[2] for a in said].index(True)]]
    repeats = [alert[1] for alert in said[1:-1]]
    assert repeats == sorted(set(repeats)), said  # each repeat once, in order
    assert len(smtp_server.envelopes) == 2, [e.content.decode() for e in smtp_server.envelopes]
    escalation, recovery = (e.content.decode() for e in smtp_server.envelopes)
    assert "Subject: [monitorkit] ESCALATION: flaky_command FAILING for " in escalation
    assert "Escalation: flaky_command is still FAILING" in escalation
    assert "Subject: [monitorkit] flaky_command is OK again (was FAILING)" in recovery
    assert all(e.rcpt_tos == ["pager@example.com"] for e in smtp_server.envelopes)
