"""The concurrency policy under real ``manage.py`` processes: SQLite, PostgreSQL, Firebase.

``lease_command`` says "ready" in ``handle`` and waits for a file: while it waits it holds its
lease. Starts refused by the policy must never reach ``handle`` and must be stored ``SKIPPED``
naming the holder; a holder killed with SIGKILL lets go once its run is stale.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.process import Project, wait_for, wait_for_line
from tests.test_one_truth_processes import (  # noqa: F401 - store and site are fixtures
    Store,
    metric,
    metric_health,
    row_of,
    settings_for,
    site,
    store,
)

# once: what it checks is the lease across processes on each store, the same on every Python and
# Django (as the watcher's process tests, main_leg); run in scripts/test's own part for it.
pytestmark = [pytest.mark.subprocess, pytest.mark.once]

HANG = 90  # seconds: far beyond what any of these commands takes; reached only by a hang


def limited(where: Project | Store, concurrency: Any, when_refused: str = "skip") -> dict:
    """Settings declaring the test command's limit, with a spool of the test's own."""
    project = where.project if isinstance(where, Store) else where
    return {
        "MONITORKIT_SPOOL_DIR": str(project.db_dir / "spool"),
        # A live holder keeps its lease: Firebase's fast settings call a run stale after 1 s
        # without a heartbeat, which a loaded machine reaches (under stress-ng a five-way
        # start admitted four). The test of a lease that lapses sets its own.
        "MONITORKIT_STALE_AFTER": 60.0,
        "MONITORKIT_SCHEDULES": {
            "lease_command": {"concurrency": concurrency, "when_refused": when_refused}
        },
    }


def start_at_once(
    where: Store, count: int, release: Path, settings: dict[str, Any]
) -> list[subprocess.Popen[str]]:
    return [
        where.popen("lease_command", f"--release={release}", settings=settings)
        for _ in range(count)
    ]


def finish(
    processes: list[subprocess.Popen[str]], refused: int, release: Path
) -> list[tuple[Any, str, str]]:
    """Wait until the refused starts have exited, then release the holders; return them all.

    When they have not, every process is let go and what each said is in the failure.
    """
    try:
        wait_for(lambda: sum(p.poll() is not None for p in processes) >= refused, timeout=HANG)
    except AssertionError:
        release.touch()
        raise AssertionError(
            f"{refused} refused starts had not all exited: {[said(p) for p in processes]}"
        ) from None
    release.touch()
    return [said(process) for process in processes]


def said(process: subprocess.Popen[str]) -> tuple[Any, str, str]:
    """Exit code (or "hung": killed after HANG seconds), stdout and stderr of ``process``."""
    try:
        out, err = process.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=HANG)
        return "hung", out, err
    return process.returncode, out, err


def timestamp(value: Any) -> dt.datetime:
    if isinstance(value, str) and value.endswith("Z"):  # Python 3.10 reads no "Z"
        value = value[:-1] + "+00:00"
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def test_two_starts_of_a_forbid_command_at_once_run_handle_once_twenty_times(
    store: Store,  # noqa: F811 - the fixture
    tmp_path: Path,
):
    settings = limited(store, "forbid")
    for attempt in range(20):
        release = tmp_path / f"release-{attempt}"
        ended = finish(start_at_once(store, 2, release, settings), 1, release)
        ran = [out for _, out, _ in ended if "ready" in out]
        assert len(ran) == 1, (attempt, ended)
        assert [code for code, _, _ in ended] == [0, 0], ended  # skip: a refused start exits 0
        assert all("Traceback" not in err for _, _, err in ended), ended
        assert sorted(out for _, out, _ in ended)[0] == ""  # the refused one printed nothing
    runs = store.runs("lease_command")
    assert len(runs) == 40
    statuses = [r["status"] for r in runs]
    assert statuses.count("FINISHED") == 20 and statuses.count("SKIPPED") == 20, statuses
    finished = {r["run_id"] for r in runs if r["status"] == "FINISHED"}
    for run in runs:
        if run["status"] == "SKIPPED":
            holder = run["message"].rsplit(" ", 1)[-1]
            assert holder in finished, run["message"]  # it names the run that held the lease
            assert run["exit_code"] == 0


def test_a_limit_of_two_admits_exactly_two_of_five(store: Store, tmp_path: Path):  # noqa: F811
    release = tmp_path / "release"
    settings = limited(store, 2)
    ended = finish(start_at_once(store, 5, release, settings), 3, release)
    assert sum("ready" in out for _, out, _ in ended) == 2, ended
    statuses = sorted(r["status"] for r in store.runs("lease_command"))
    assert statuses == ["FINISHED"] * 2 + ["SKIPPED"] * 3


def test_a_refused_start_that_fails_exits_75_with_one_line_on_stderr(
    project: Project, tmp_path: Path
):
    release = tmp_path / "release"
    settings = limited(project, "forbid", when_refused="fail")
    holder = project.popen("lease_command", f"--release={release}", settings=settings)
    wait_for_line(holder, "ready", timeout=HANG)
    refused = project.run("lease_command", f"--release={release}", settings=settings)
    release.touch()
    holder.communicate(timeout=HANG)
    assert refused.returncode == 75
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("RunRefused: Not run: concurrency of 'lease_command'")
    skipped = [r for r in project.runs("lease_command") if r["status"] == "SKIPPED"]
    assert len(skipped) == 1 and skipped[0]["exit_code"] == 75


def test_a_sigkilled_holder_lets_go_once_its_run_is_stale(
    store: Store,  # noqa: F811 - the fixture
    tmp_path: Path,
):
    release = tmp_path / "release"
    stale_after = 5.0  # the holder beats every 0.2 s: alive until killed, on a busy machine too
    settings = {
        **limited(store, "forbid"),
        "FIREBASE_MONITORING_INTERVAL_PING": 0.2,
        "MONITORKIT_STALE_AFTER": stale_after,
    }
    holder = store.popen("lease_command", f"--release={release}", settings=settings)
    wait_for_line(holder, "ready", timeout=HANG)
    refused = store.run("lease_command", f"--release={release}", settings=settings)
    assert refused.returncode == 0 and refused.stdout == "", refused
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=HANG)

    def holder_row() -> dict[str, Any]:
        return next(r for r in store.runs("lease_command") if r["status"] == "RUNNING")

    # The store shows the holder's last heartbeat; once it is older than the stale bound the
    # judge calls the run stale, and its lease is gone with it.
    wait_for(
        lambda: (
            (dt.datetime.now(dt.timezone.utc) - timestamp(holder_row()["latest"])).total_seconds()
            > stale_after
        ),
        timeout=HANG,
    )
    release.touch()  # the next holder ends as soon as it is admitted
    admitted = store.popen("lease_command", f"--release={release}", settings=settings)
    out, err = admitted.communicate(timeout=HANG)
    assert admitted.returncode == 0 and "ready" in out, (out, err)
    statuses = sorted(r["status"] for r in store.runs("lease_command"))
    assert statuses == ["FINISHED", "RUNNING", "SKIPPED"]  # the killed run stays as it was


# --- "allow": overlap is shown, not prevented ------------------------------------------------


def test_allowed_overlap_shows_on_the_page_and_in_the_metrics(store, site, tmp_path: Path):  # noqa: F811
    """Two live runs of a command that allows them (the default): both run ``handle``; the
    overview page and JSON say OVERLAPPING, the metrics ``monitorkit_active_runs`` 2."""
    release = tmp_path / "release"
    settings = settings_for()
    runs = [
        store.popen("lease_command", f"--release={release}", settings=settings) for _ in range(2)
    ]
    try:
        for process in runs:
            wait_for_line(process, "ready", timeout=HANG)
        wait_for(
            lambda: sum(r["status"] == "RUNNING" for r in store.runs("lease_command")) == 2,
            timeout=HANG,
        )
        web = site(settings)
        samples = web.metrics()
        assert metric(samples, "monitorkit_active_runs", "lease_command") == 2
        assert metric_health(samples, "lease_command") == "OVERLAPPING"
        assert 'data-health="OVERLAPPING"' in row_of(web.page(), "lease_command")
        overview = web.json("api/overview.json")["commands"]
        (row,) = [c for c in overview if c["command_id"] == "lease_command"]
        assert row["health"] == "OVERLAPPING", row
    finally:
        release.touch()
        for process in runs:
            process.communicate(timeout=HANG)
    assert all(process.returncode == 0 for process in runs)


def test_a_forbid_command_runs_when_its_store_is_down(project: Project, tmp_path: Path):
    """Firebase does not answer: the lease cannot be taken, the command runs, a line says so."""
    from tests.test_firebase_processes import firebase, free_port

    release = tmp_path / "release"
    release.touch()  # the command ends as soon as it runs
    settings = {
        **firebase(f"http://127.0.0.1:{free_port()}"),  # nothing listens there
        **limited(project, "forbid"),
        "MONITORKIT_FLUSH_TIMEOUT": 1.0,
    }
    ran = project.run("lease_command", f"--release={release}", settings=settings, timeout=HANG)
    assert ran.returncode == 0, ran.stderr
    assert "ready" in ran.stdout
    assert "could not take a lease for command 'lease_command'" in ran.stderr
    assert "it runs without one" in ran.stderr
