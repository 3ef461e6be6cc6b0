"""The spool against another local user: real ``manage.py`` and ``monitor_watch`` processes.

The attacker is a second real user (``nobody``, through ``runuser``) who gets to the spool's
directory first, in a world-writable sticky directory like ``/tmp``: it plants a forged
``FINISHED`` record, a file naming ``sys.exit`` as its reporter, or a FIFO. Nothing forged may
reach the store, the watcher must keep running, and no command may wait on the spool. Needs
root (to be able to become ``nobody``), as in CI; skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitorkit.record import RunRecord, Status
from tests.process import MANAGE, ROOT, Project, wait_for_line

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.once,  # file modes and owners: the same on every Python and Django
    pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("runuser") is None,
        reason="needs root and runuser, to plant files as a second real user (nobody), as CI",
    ),
]

STORE = "monitorkit.stores.database.DatabaseReporter"
FORGED_ID = "nightly_backup"


def as_nobody(script: str, *args: str, stdin: str = "") -> None:
    """Run a shell script as the user ``nobody`` (umask 0, so what it makes is 0777)."""
    subprocess.run(
        ["runuser", "-u", "nobody", "--", "sh", "-c", f"umask 0; {script}", "sh", *args],
        input=stdin,
        text=True,
        check=True,
        timeout=30,
    )


def spool_file(reporter: str = STORE, command_id: str = FORGED_ID) -> tuple[str, str]:
    """Return a file name and content as monitorkit writes them: a FINISHED run, forged."""
    now = dt.datetime.now(dt.timezone.utc)
    run_id = uuid.uuid4().hex
    record = RunRecord(
        id=command_id,
        name=command_id,
        params="",
        run_id=run_id,
        host="forged-host",
        pid=1,
        started=now,
        status=Status.FINISHED,
        latest=now,
        finished=now,
        message="Command finished",
        exit_code=0,
    )
    content = {"version": 1, "reporter": reporter, "state": {}, "record": record.as_dict()}
    return f"{run_id}.{reporter.rsplit('.', 1)[-1]}.json", json.dumps(content)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory like ``/tmp``: anyone may create in it (mode 1777)."""
    path = Path(tempfile.mkdtemp(prefix="monitorkit-shared-"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def plant_record(directory: Path, reporter: str = STORE) -> str:
    """As nobody: make ``directory`` (0777) first and put a forged record in it."""
    name, content = spool_file(reporter)
    as_nobody('mkdir -p "$1" && cat > "$1/$2"', str(directory), name, stdin=content)
    return name


def forged_runs(project: Project) -> list[dict[str, Any]]:
    return project.runs(FORGED_ID)


def test_a_forged_record_in_another_users_directory_never_reaches_the_store(
    project: Project, shared: Path
):
    spool = shared / "spool"
    planted = plant_record(spool)
    settings = {"MONITORKIT_SPOOL_DIR": str(spool)}

    result = project.run("ok_command", settings=settings)
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in project.runs("ok_command")] == ["FINISHED"]
    assert forged_runs(project) == []  # before, the command's sender delivered it
    assert f"does not use the spool directory {spool}" in result.stderr
    assert f"owned by uid {pwd.getpwnam('nobody').pw_uid}" in result.stderr

    watched = project.run("monitor_watch", "--once", settings=settings)
    assert watched.returncode == 0, watched.stderr
    assert "0 spooled record(s) delivered" in watched.stdout
    assert forged_runs(project) == []
    assert [p.name for p in spool.iterdir()] == [planted]  # neither read nor touched


def test_the_default_spool_is_not_one_another_user_made_in_the_temporary_directory(
    project: Project, shared: Path, tmp_path: Path
):
    """The issue's case: the old default, ``<tmp>/monitorkit-spool-<hash>``, made by nobody.

    With no usable home the default falls back to the temporary directory, under a name with
    the user's id; nobody made that one first too: it is refused as well.
    """
    identity = f"tests.settings\n\n{project.db_path}"  # SETTINGS_MODULE, BASE_DIR, db NAME
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    old_default = shared / f"monitorkit-spool-{digest}"
    fallback = shared / f"monitorkit-spool-{os.geteuid()}-{digest}"
    plant_record(old_default)
    plant_record(fallback)
    (tmp_path / "home").touch()  # a home that is not a directory: no cache directory there
    settings = {"MONITORKIT_SPOOL_DIR": None}  # unset: the default
    env = {"TMPDIR": str(shared), "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": ""}

    for command in (["ok_command"], ["monitor_watch", "--once"]):
        result = run_with_env(project, command, settings, env)
        assert result.returncode == 0, result.stderr
        assert forged_runs(project) == []
        assert f"does not use the spool directory {fallback}" in result.stderr
    assert forged_runs(project) == []


def run_with_env(
    project: Project, command: list[str], settings: dict[str, Any], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MANAGE), *command],
        env={**project.env(settings), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("owner", ["nobody", "own"])
def test_a_reporter_path_in_a_file_is_never_called_and_the_watcher_keeps_running(
    project: Project, shared: Path, owner: str
):
    """A file naming ``sys.exit`` as its reporter: before, the watcher called it and ended.

    ``nobody``: planted in a directory another user made (refused as a whole); ``own``: in
    this user's own directory (as a bug or an old version might leave): still never imported.
    """
    spool = shared / "spool"
    if owner == "nobody":
        plant_record(spool, reporter="sys.exit")
    else:
        spool.mkdir(mode=0o700)
        name, content = spool_file(reporter="sys.exit")
        (spool / name).write_text(content)
    settings = {"MONITORKIT_SPOOL_DIR": str(spool)}
    watcher = project.popen("monitor_watch", "--interval=0.1", settings=settings)
    try:
        for _ in range(3):  # three cycles: the first one used to be the last
            wait_for_line(watcher, "checked", timeout=60)
        watcher.send_signal(signal.SIGTERM)
        _, stderr = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
    assert watcher.returncode == 0, stderr
    assert len(list(spool.iterdir())) == 1  # kept
    if owner == "own":
        assert "'sys.exit', which is not one of the project's configured stores" in stderr
        assert stderr.count("sys.exit") == 1  # reported once, not every cycle
    assert forged_runs(project) == []


@pytest.mark.parametrize("owner", ["nobody", "own"])
def test_a_fifo_in_the_spool_holds_neither_a_command_nor_the_watcher(
    project: Project, shared: Path, owner: str
):
    """Before, ``read_text`` on a FIFO blocked: the command for its whole flush bound (its record
    then lost to the spool), ``monitor_watch --once`` for ever."""
    spool = shared / "spool"
    fifo = f"{uuid.uuid4().hex}.DatabaseReporter.json"
    if owner == "nobody":
        as_nobody('mkdir "$1" && mkfifo "$1/$2"', str(spool), fifo)
    else:
        spool.mkdir(mode=0o700)
        os.mkfifo(spool / fifo)
    settings = {"MONITORKIT_SPOOL_DIR": str(spool), "MONITORKIT_FLUSH_TIMEOUT": 60}

    started = time.monotonic()
    result = project.run("ok_command", settings=settings, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 30  # far below the 60 s flush bound it used to wait in full
    assert "stopped waiting" not in result.stderr
    assert [r["status"] for r in project.runs("ok_command")] == ["FINISHED"]

    watched = project.run("monitor_watch", "--once", settings=settings, timeout=60)
    assert watched.returncode == 0, watched.stderr
    if owner == "own":
        assert "is not a regular file" in result.stderr


def test_no_record_of_ours_is_kept_in_another_users_directory(project: Project, shared: Path):
    """There it could be read, replaced or deleted: the record is not spooled there at all."""
    spool = shared / "spool"
    as_nobody('mkdir "$1"', str(spool))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = {
        "FIREBASE_MONITORING": {"DATABASE_URL": f"http://127.0.0.1:{port}/?ns=spool-test"},
        "FIREBASE_MONITORING_KEY": "spool-test",
        "MONITORKIT_FLUSH_TIMEOUT": 1.0,
        "MONITORKIT_HTTP_TIMEOUT": 0.5,
        "MONITORKIT_SPOOL_DIR": str(spool),
    }
    result = project.run("ok_command", settings=settings)
    assert result.returncode == 0, result.stderr
    assert list(spool.iterdir()) == []
    assert f"does not use the spool directory {spool}" in result.stderr
    assert "it is lost" in result.stderr
