"""Flapping and ``recover_after`` with real ``manage.py`` runs and real ``monitor_watch --once``
processes (three at once where a notice is due), on SQLite and PostgreSQL (``store_project``),
alerts to the real local HTTP and SMTP servers.

No hour passes here: the settling is tested in process (``stores/test_flapping_watch.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.process import PostgresProject, Project
from tests.test_alert_delivery import mailed
from tests.test_watch_processes import _smtp_port, transitions, watch_once, watch_settings

# The watcher's judgement and alerts across real processes (flapping and the recovery threshold):
# their subject does not change with the Python or Django version, and the legs run the same
# features' in-process tests: on the main leg only (CI's time).
pytestmark = [pytest.mark.subprocess, pytest.mark.main_leg]


def flaky(project: Project, settings: dict, fails: bool) -> None:
    """Run ``flaky_command`` once, failing or not."""
    failing = project.db_dir / "failing"
    if fails:
        failing.touch()
    elif failing.exists():
        failing.unlink()
    assert project.run("flaky_command", settings=settings).returncode == (1 if fails else 0)


def stored(project: Project, command_id: str) -> list[tuple[str, str, str]]:
    """Return the command's stored transitions (previous, health, alert), from either database."""
    if not isinstance(project, PostgresProject):
        return [t[1:] for t in transitions(project) if t[0] == command_id]
    with project.cluster.connect(project.database) as con:
        rows: list[dict[str, Any]] = con.execute(
            "SELECT previous, health, alert FROM monitorkit_healthtransition "
            "WHERE command_id = %s ORDER BY number",
            (command_id,),
        ).fetchall()
    return [(row["previous"], row["health"], row["alert"]) for row in rows]


def sent(sink) -> list[str]:
    """Each webhook request in words: ``FAILING``, ``flapping OK``."""
    said = []
    for request in sink.requests:
        body = request.json()
        notice = body["flapping"]["notice"] + " " if body["flapping"] else ""
        said.append(f"{notice}{body['health']}")
    return said


def test_three_watchers_at_once_send_the_flapping_notice_once(
    store_project: Project, http_sink, smtp_server
):
    project = store_project
    settings = watch_settings(
        http_sink, inbox_port=_smtp_port(smtp_server), flaky_command={"flap_threshold": 1}
    )
    flaky(project, settings, fails=True)
    watch_once(project, settings)
    flaky(project, settings, fails=False)  # the second change in an hour: more than 1
    watchers = [project.popen("monitor_watch", "--once", settings=settings) for _ in range(3)]
    for watcher in watchers:
        watcher.communicate(timeout=60)
        assert watcher.returncode == 0
    assert sent(http_sink) == ["FAILING", "flapping OK"]

    flaky(project, settings, fails=True)  # quiet now
    watch_once(project, settings)
    flaky(project, settings, fails=False)
    watch_once(project, settings)
    assert sent(http_sink) == ["FAILING", "flapping OK"]
    assert mailed(smtp_server) == [
        "Subject: [monitorkit] flaky_command is failing (was NEW)",
        "Subject: [monitorkit] flaky_command is flapping (now OK)",
    ]
    assert stored(project, "flaky_command") == [
        ("NEW", "FAILING", "sent"),
        ("FAILING", "OK", "sent"),
        ("OK", "FAILING", "none"),
        ("FAILING", "OK", "waiting"),  # open while quiet: the settling is looked for
    ]


def test_recover_after_holds_the_failure_until_the_third_success(store_project: Project, http_sink):
    project = store_project
    settings = watch_settings(http_sink, flaky_command={"recover_after": 3})
    flaky(project, settings, fails=True)
    watch_once(project, settings)
    for successes in (1, 2):
        flaky(project, settings, fails=False)
        watch_once(project, settings)
        status = project.run("monitor_status", "--json", settings=settings)
        (item,) = [i for i in json.loads(status.stdout) if i["id"] == "flaky_command"]
        assert item["health"] == "FAILING"
        assert item["recovering"] == {"successes": successes, "needed": 3}
    assert sent(http_sink) == ["FAILING"]
    flaky(project, settings, fails=False)
    watch_once(project, settings)
    assert sent(http_sink) == ["FAILING", "OK"]
    assert stored(project, "flaky_command") == [
        ("NEW", "FAILING", "sent"),
        ("FAILING", "OK", "sent"),
    ]
