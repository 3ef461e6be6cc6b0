"""Real ``manage.py`` processes reporting to the local Realtime Database server over HTTP.

The stored tree is read back over the REST protocol (a plain GET, as users' dashboards do)
and from the server's own copy; faults are injected in the server while the command runs.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from typing import Any

import pytest
import requests

from tests.process import Project, wait_for, wait_for_line
from tests.shapes import SEED_FIELDS, TIMESTAMP

# Run once (on the main leg of scripts/test), not in every nox leg: the subject is the Firebase
# transport and its spool, which no Django version touches; the in-process Firebase reporter
# tests run in every leg.
pytestmark = [pytest.mark.subprocess, pytest.mark.once]

NS = "monitorkit-e2e"
KEY = "monitor-myapp-production"
SECRET = "db-secret-9f8e7d6c5b4a"
FAST = {
    "FIREBASE_MONITORING_INTERVAL_PING": 0.2,
    "MONITORKIT_STALE_AFTER": 1.0,
    # Generous, so a busy machine still delivers before a command ends; the tests about the
    # bound or the timeout set their own.
    "MONITORKIT_FLUSH_TIMEOUT": 10.0,
    "MONITORKIT_HTTP_TIMEOUT": 5.0,
}


def firebase(url: str, secret: str | None = None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"DATABASE_URL": f"{url}/?ns={NS}", "API_KEY": "AIza-public-key"}
    if secret:
        config["AUTH_TOKEN"] = secret
    settings = {"FIREBASE_MONITORING": config, "FIREBASE_MONITORING_KEY": KEY}
    settings.update(FAST)
    settings.update(extra)
    return settings


def rest_get(server: Any, path: str, secret: str | None = None) -> Any:
    params = {"ns": NS}
    if secret:
        params["auth"] = secret
    answer = requests.get(f"{server.url}/{path}.json", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()


def log_of(server: Any, command_id: str, secret: str | None = None) -> list[dict[str, Any]]:
    return rest_get(server, f"{KEY}/commands/{command_id}/log", secret) or []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stored_tree_has_the_seed_fields_and_log_is_a_json_array(project: Project, rtdb_server):
    settings = firebase(rtdb_server.url)
    assert project.run("ok_command", "--label=x", settings=settings).returncode == 0
    assert project.run("fail_command", settings=settings).returncode == 1

    log = log_of(rtdb_server, "ok_command__label_x")
    assert isinstance(log, list) and len(log) == 1
    (run,) = log
    # Firebase stores no nulls: a field that is None (exception_type of a finished run) is absent.
    assert SEED_FIELDS - {"exception_type"} <= set(run)
    assert "exception_type" not in run
    assert run["id"] == "ok_command__label_x"
    assert run["name"] == "ok_command"
    assert run["params"] == "label=x"
    assert run["status"] == "FINISHED"
    assert all(TIMESTAMP.match(run[k]) for k in ("started", "latest", "finished"))
    (failed,) = log_of(rtdb_server, "fail_command")
    assert failed["status"] == "FAILED"
    assert failed["exception_type"] == "builtins.ValueError"
    assert failed["message"] == "boom: the input is bad"
    summary = rest_get(rtdb_server, f"{KEY}/latest")
    assert set(summary) == {"ok_command__label_x", "fail_command"}
    assert project.runs() == []  # Firebase configured: the database is not used


@pytest.mark.once
def test_retention_is_exactly_100_after_more_runs(project: Project, rtdb_server, settings):
    """97 runs stored through the reporter in this process, then six processes at once take
    the ring past its 100 slots: each claims its number, and the oldest three are overwritten.
    (Row 17 of the benchmarks runs 500 real processes six at a time on a busy machine.)"""
    from monitorkit.conf import monitor_settings
    from monitorkit.stores.firebase import FirebaseReporter
    from tests.stores.conftest import make_record, run_once

    configured = firebase(rtdb_server.url)
    for name, value in configured.items():
        setattr(settings, name, value)
    reporter = FirebaseReporter(monitor_settings)
    for n in range(97):
        run_once(reporter, make_record(f"seeded-{n:03d}", "ok_command", params=""))
    processes = [project.popen("ok_command", settings=configured) for _ in range(6)]
    assert [p.wait(timeout=120) for p in processes] == [0] * 6
    log = log_of(rtdb_server, "ok_command")
    assert isinstance(log, list)
    assert len(log) == 100
    assert sorted(r["seq"] for r in log) == list(range(4, 104))
    assert {r["status"] for r in log} == {"FINISHED"}
    assert sum(not r["run_id"].startswith("seeded-") for r in log) == 6  # the processes' runs


@pytest.mark.parametrize(
    "label",
    [
        "a.b$c#d[e]f/g",
        "line\nbreak\ttab\x07bell\x7f",
        "x" * 2000,
        "../../etc/passwd",
    ],
    ids=["forbidden", "control", "2000-chars", "traversal"],
)
def test_hostile_option_values_still_store_a_run(project: Project, rtdb_server, label: str):
    secret = "sk_live_hostile_SECRET_value"
    result = project.run(
        "ok_command", f"--label={label}", f"--api_key={secret}", settings=firebase(rtdb_server.url)
    )
    assert result.returncode == 0
    tree = rtdb_server.data(NS)
    (command_id,) = tree[KEY]["commands"]
    assert len(command_id.encode()) <= 768
    assert not set(".$#[]/") & set(command_id)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in command_id)
    (run,) = log_of(rtdb_server, command_id)
    assert run["status"] == "FINISHED"
    assert "api_key=********" in run["params"]
    assert secret not in str(tree)


def test_concurrent_runs_of_one_command_are_separate_records(project: Project, rtdb_server):
    settings = firebase(rtdb_server.url)
    processes = [project.popen("sleep_command", "--seconds=1", settings=settings) for _ in range(5)]
    assert [p.wait(timeout=60) for p in processes] == [0] * 5
    log = log_of(rtdb_server, "sleep_command")
    assert len(log) == 5
    assert sorted(r["seq"] for r in log) == [1, 2, 3, 4, 5]
    assert len({r["run_id"] for r in log}) == 5
    assert {r["status"] for r in log} == {"FINISHED"}


def test_sigterm_is_marked_at_once(project: Project, rtdb_server):
    process = project.popen("sleep_command", "--seconds=60", settings=firebase(rtdb_server.url))
    wait_for_line(process, "ready")
    wait_for(
        lambda: [
            r
            for r in log_of(rtdb_server, "sleep_command__seconds_60_0")
            if r["status"] == "RUNNING"
        ]
    )
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    (run,) = log_of(rtdb_server, "sleep_command__seconds_60_0")
    assert run["status"] == "SYSTEM_KILL"
    assert run["message"] == "Killed by SIGTERM"


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM-user-handler"])
def test_a_killed_run_is_stored_once(project: Project, rtdb_server, how: str):
    """The kill is recorded, then KeyboardInterrupt (or the user's handler) ends the run: one run.

    ``Project.popen`` gives the child the default SIGINT, so Python turns it into
    ``KeyboardInterrupt`` even when the suite itself runs with SIGINT ignored (a background job).
    """
    extra = ["--user_handler=before"] if how != "SIGINT" else []
    signum = signal.SIGINT if how == "SIGINT" else signal.SIGTERM
    process = project.popen(
        "sleep_command", "--seconds=60", *extra, settings=firebase(rtdb_server.url)
    )
    wait_for_line(process, "ready")
    (command_id,) = wait_for(lambda: rest_get(rtdb_server, f"{KEY}/latest"))  # slot taken
    process.send_signal(signum)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == (-signal.SIGINT if how == "SIGINT" else 7)
    assert stdout == ("" if how == "SIGINT" else "user handler ran\n")
    (run,) = log_of(rtdb_server, command_id)  # before the fix: one run under seq 1 and 2
    assert run["seq"] == 1 and run["status"] == "SYSTEM_KILL"
    assert run["message"] == f"Killed by {signal.Signals(signum).name}"
    assert rest_get(rtdb_server, f"{KEY}/commands/{command_id}/seq") == 1


def test_a_sigkilled_run_stays_running_and_is_shown_stale(project: Project, rtdb_server):
    """Nobody can record SIGKILL: Firebase keeps RUNNING, and monitor_status says STALE."""
    settings = firebase(rtdb_server.url)
    command_id = "sleep_command__seconds_60_0"
    killed = project.popen("sleep_command", "--seconds=60", settings=settings)
    wait_for_line(killed, "ready")
    wait_for(lambda: [r for r in log_of(rtdb_server, command_id) if r["status"] == "RUNNING"])
    killed.kill()
    killed.wait(timeout=30)

    def shown() -> dict[int, tuple[str, bool]]:
        args = ("monitor_status", "--command", command_id, "--json")
        result = project.run(*args, settings=settings)
        assert result.returncode == 0, result.stderr
        return {run["seq"]: (run["status"], run["stale"]) for run in json.loads(result.stdout)}

    # No fixed wait: ask until MONITORKIT_STALE_AFTER has passed since its last heartbeat.
    wait_for(lambda: shown() == {1: ("RUNNING", True)}, timeout=60)
    successor = project.popen("sleep_command", "--seconds=60", settings=settings)
    try:
        wait_for_line(successor, "ready")
        runs = wait_for(
            lambda: (
                (log := sorted(log_of(rtdb_server, command_id), key=lambda r: r["seq"]))
                and len(log) == 2
                and log
            ),
            timeout=60,
        )
        assert (runs[0]["status"], runs[0]["message"]) == ("RUNNING", "Command running")
        assert runs[1]["status"] in ("STARTED", "RUNNING")
        assert shown()[1] == ("RUNNING", True)
    finally:
        successor.kill()
        successor.wait(timeout=30)


def test_monitor_status_reads_firebase(project: Project, rtdb_server):
    settings = firebase(rtdb_server.url)
    project.run("ok_command", settings=settings)
    project.run("fail_command", settings=settings)
    result = project.run("monitor_status", settings=settings)
    assert result.returncode == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "FINISHED" in rows["ok_command"]
    assert "FAILED" in rows["fail_command"]
    history = project.run("monitor_status", "--command", "ok_command", settings=settings)
    assert len(history.stdout.splitlines()) == 2


# Faults: the command's exit code and stdout never change; the wait stays bounded.

_twins: dict[tuple[str, ...], tuple[int, str]] = {}


def twin_outcome(project: Project, *args: str) -> tuple[int, str]:
    """Return the unmonitored twin's exit code and stdout (run once per arguments: it has no
    store, so what it prints does not depend on the test)."""
    if args not in _twins:
        plain = project.run(*args, twin="plain")
        _twins[args] = (plain.returncode, plain.stdout)
    return _twins[args]


def assert_unchanged(project: Project, result: subprocess.CompletedProcess[str], args) -> None:
    assert (result.returncode, result.stdout) == twin_outcome(project, *args)


def spooled(project: Project) -> list[str]:
    """The records waiting in the project's spool (``MONITORKIT_SPOOL_DIR`` in tests/settings)."""
    return sorted(path.name for path in (project.db_dir / "spool").glob("*.json"))


def timed_run(project: Project, *args: str, settings: dict[str, Any]):
    started = time.monotonic()
    result = project.run(*args, settings=settings)
    return result, time.monotonic() - started


def test_connection_refused(project: Project):
    url = f"http://127.0.0.1:{free_port()}"
    settings = firebase(url, secret=SECRET, MONITORKIT_FLUSH_TIMEOUT=1.0)
    result, elapsed = timed_run(project, "ok_command", settings=settings)
    assert_unchanged(project, result, ["ok_command"])
    assert "could not deliver" in result.stderr or "stopped waiting" in result.stderr
    assert SECRET not in result.stderr
    assert elapsed < 30  # a hang check, not a stopwatch: the bound is measured in benchmarks/


def test_server_that_never_answers(project: Project, rtdb_server_factory):
    server = rtdb_server_factory(secret=SECRET)
    server.hang(True)
    settings = firebase(server.url, secret=SECRET, MONITORKIT_FLUSH_TIMEOUT=1.0)
    result, elapsed = timed_run(project, "ok_command", settings=settings)
    server.hang(False)
    assert_unchanged(project, result, ["ok_command"])
    assert re.search(r"kept .*in the spool", result.stderr)
    assert SECRET not in result.stderr
    assert elapsed < 30


@pytest.mark.parametrize(
    ("fault", "count"),
    [
        ({"status": 503}, 3),  # a one-second blip: more failures than the old three attempts
        ({"status": 500}, 2),
        ({"status": 429, "headers": {"Retry-After": "1"}}, 2),
    ],
    ids=["503x3", "500x2", "429-retry-after"],
)
@pytest.mark.parametrize("when", ["start", "heartbeat", "exit"])
@pytest.mark.once  # HTTP retries against the local server: the same on every Django
def test_transient_errors_recover_within_the_bound(
    project: Project, rtdb_server_factory, fault, count, when
):
    """Retried until the flush bound: the run is stored once, FINISHED, and nothing spooled."""
    server = rtdb_server_factory(secret=SECRET)
    settings = firebase(server.url, secret=SECRET)
    if when == "exit":
        settings["FIREBASE_MONITORING_INTERVAL_PING"] = 60  # only the start and the final write
    command_id = "sleep_command__seconds_1_5"
    if when == "start":
        server.fail_next(count, **fault)
    process = project.popen("sleep_command", "--seconds=1.5", settings=settings)
    wait_for_line(process, "ready")
    if when == "heartbeat":
        server.fail_next(count, **fault)
    if when == "exit":
        wait_for(lambda: log_of(server, command_id, SECRET))  # the start is stored
        server.fail_next(count, **fault)  # so the failures hit the final write
    stdout, stderr = process.communicate(timeout=60)
    # "ready" was read by wait_for_line
    assert (process.returncode, "ready\n" + stdout) == twin_outcome(
        project, "sleep_command", "--seconds=1.5"
    )
    (run,) = log_of(server, command_id, SECRET)
    assert run["status"] == "FINISHED"  # the final status arrived once the server recovered
    assert rest_get(server, f"{KEY}/commands/{command_id}/seq", SECRET) == 1
    assert spooled(project) == []
    assert SECRET not in stderr


def test_a_run_made_while_the_backend_was_down_is_delivered_by_the_next(
    project: Project, rtdb_server_factory
):
    """Down for a whole run, back for the next: the first appears after the second, once each.

    Then a spool file that was delivered but not deleted (its process was killed in between)
    is delivered again by a third run: it finds its run by ``run_id`` and duplicates nothing.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = firebase(url, secret=SECRET, MONITORKIT_FLUSH_TIMEOUT=1.0)
    down = project.run("ok_command", "--label=down", settings=settings)
    assert_unchanged(project, down, ["ok_command", "--label=down"])
    (left,) = spooled(project)
    kept = (project.db_dir / "spool" / left).read_bytes()
    assert SECRET.encode() not in kept

    server = rtdb_server_factory(port=port, secret=SECRET)
    back = project.run("ok_command", "--label=back", settings=settings)
    assert_unchanged(project, back, ["ok_command", "--label=back"])
    assert spooled(project) == []
    (first,) = log_of(server, "ok_command__label_down", SECRET)
    (second,) = log_of(server, "ok_command__label_back", SECRET)
    assert first["status"] == second["status"] == "FINISHED"
    assert first["started"] < second["started"]
    assert SECRET not in back.stderr

    (project.db_dir / "spool" / left).write_bytes(kept)  # as if killed before deleting it
    again = project.run("ok_command", "--label=back", settings=settings)
    assert again.returncode == 0
    assert spooled(project) == []
    (only,) = log_of(server, "ok_command__label_down", SECRET)
    assert only == first
    assert rest_get(server, f"{KEY}/commands/ok_command__label_down/seq", SECRET) == 1


def test_a_run_whose_finish_was_spooled_is_completed_in_place(
    project: Project, rtdb_server_factory
):
    """Its start was stored, its finish refused past the bound: the next run completes it."""
    server = rtdb_server_factory(secret=SECRET)
    settings = firebase(server.url, secret=SECRET, MONITORKIT_FLUSH_TIMEOUT=1.0)
    settings["FIREBASE_MONITORING_INTERVAL_PING"] = 60  # only the start and the final write
    command_id = "sleep_command__seconds_0_5"
    process = project.popen("sleep_command", "--seconds=0.5", settings=settings)
    wait_for_line(process, "ready")
    wait_for(lambda: log_of(server, command_id, SECRET))  # the start is stored
    server.fail_next(10_000, 503)  # the finish outlasts the flush bound
    stdout, _ = process.communicate(timeout=60)
    assert (process.returncode, "ready\n" + stdout) == twin_outcome(
        project, "sleep_command", "--seconds=0.5"
    )
    assert len(spooled(project)) == 1
    server.reset_faults()
    (started,) = log_of(server, command_id, SECRET)
    assert started["status"] in ("STARTED", "RUNNING")

    assert project.run("sleep_command", "--seconds=0", settings=settings).returncode == 0
    assert spooled(project) == []
    (run,) = log_of(server, command_id, SECRET)
    assert (run["seq"], run["status"]) == (1, "FINISHED")
    assert rest_get(server, f"{KEY}/commands/{command_id}/seq", SECRET) == 1


def test_unauthorized_is_logged_once_and_not_retried(project: Project, rtdb_server_factory):
    server = rtdb_server_factory(secret=SECRET)
    settings = firebase(server.url, secret="wrong-secret-0123456789")
    result = project.run("ok_command", settings=settings)
    assert_unchanged(project, result, ["ok_command"])
    assert "Permission denied" in result.stderr
    assert "wrong-secret-0123456789" not in result.stderr
    assert rest_get(server, KEY, SECRET) is None
    refused = [r for r in server.requests if r.status == 401]
    # One refused request per write the command asked for (start, finish): none retried.
    assert 1 <= len(refused) <= 2


def test_malformed_replies_are_logged_and_contained(project: Project, rtdb_server_factory):
    server = rtdb_server_factory(secret=SECRET)
    server.malformed_next(50)
    settings = firebase(server.url, secret=SECRET, MONITORKIT_FLUSH_TIMEOUT=1.0)
    result = project.run("ok_command", settings=settings)
    assert_unchanged(project, result, ["ok_command"])
    assert "could not deliver" in result.stderr or "stopped waiting" in result.stderr
    assert SECRET not in result.stderr
