"""Flapping and ``recover_after`` with real ``manage.py`` runs and real ``monitor_watch --once``
processes (three at once where a notice is due), alerts to the real local HTTP server.

No hour passes here: the settling is tested in process (``stores/test_flapping_watch.py``).
"""

from __future__ import annotations

import json

import pytest

from tests.process import Project
from tests.test_watch_processes import transitions, watch_once, watch_settings

pytestmark = pytest.mark.subprocess


def flaky(project: Project, settings: dict, fails: bool) -> None:
    """Run ``flaky_command`` once, failing or not."""
    failing = project.db_dir / "failing"
    if fails:
        failing.touch()
    elif failing.exists():
        failing.unlink()
    assert project.run("flaky_command", settings=settings).returncode == (1 if fails else 0)


def sent(sink) -> list[str]:
    """Each webhook request in words: ``FAILING``, ``flapping OK``."""
    said = []
    for request in sink.requests:
        body = request.json()
        notice = body["flapping"]["notice"] + " " if body["flapping"] else ""
        said.append(f"{notice}{body['health']}")
    return said


def test_three_watchers_at_once_send_the_flapping_notice_once(project: Project, http_sink):
    settings = watch_settings(http_sink, flaky_command={"flap_threshold": 1})
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
    assert [t[1:] for t in transitions(project) if t[0] == "flaky_command"] == [
        ("NEW", "FAILING", "sent"),
        ("FAILING", "OK", "sent"),
        ("OK", "FAILING", "none"),
        ("FAILING", "OK", "waiting"),  # open while quiet: the settling is looked for
    ]


def test_recover_after_holds_the_failure_until_the_third_success(project: Project, http_sink):
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
    assert [t[1:] for t in transitions(project) if t[0] == "flaky_command"] == [
        ("NEW", "FAILING", "sent"),
        ("FAILING", "OK", "sent"),
    ]
