"""Run the test project's ``manage.py`` as a real process, and read what it stored.

The store is read with the standard library's ``sqlite3``, not the ORM, so the tests check
what is really in the file, independently of the code that wrote it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "tests" / "manage.py"


@dataclass
class Project:
    """One throw-away copy of the test project's database, and how to run commands on it."""

    db_dir: Path

    @property
    def db_path(self) -> Path:
        return self.db_dir / "db.sqlite3"

    def env(self, settings: dict[str, Any] | None = None, twin: str = "") -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env["MONITORKIT_TEST_DB_DIR"] = str(self.db_dir)
        env["PYTHONUNBUFFERED"] = "1"
        env["MONITORKIT_TEST_SETTINGS"] = json.dumps(settings or {})
        env["MONITORKIT_TWIN"] = twin
        return env

    def popen(
        self, *args: str, settings: dict[str, Any] | None = None, twin: str = ""
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(MANAGE), *args],
            env=self.env(settings, twin),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_signal_dispositions,
        )

    def run(
        self,
        *args: str,
        settings: dict[str, Any] | None = None,
        twin: str = "",
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(MANAGE), *args],
            env=self.env(settings, twin),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def runs(self, command_id: str | None = None) -> list[dict[str, Any]]:
        """Return the stored runs (oldest first), straight from the SQLite file."""
        con = sqlite3.connect(self.db_path, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            sql = "SELECT * FROM monitorkit_commandrun"
            params: tuple[Any, ...] = ()
            if command_id is not None:
                sql += " WHERE command_id = ?"
                params = (command_id,)
            rows = con.execute(sql + " ORDER BY started, seq", params).fetchall()
        finally:
            con.close()
        return [dict(row) for row in rows]


def default_signal_dispositions() -> None:
    """Give a child the default SIGINT, SIGTERM and SIGHUP, whatever this process inherited.

    A process started from a background job inherits SIGINT *ignored*, and Python then installs
    no ``KeyboardInterrupt`` handler: a signal test must not depend on how the suite was started.
    """
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@dataclass
class PostgresProject(Project):
    """The same test project with its database (and so the store) on PostgreSQL (tests/pg.py).

    Runs are read with psycopg, not the ORM: timestamps come back as datetimes and JSON
    columns as Python data, where the SQLite project gives text.
    """

    cluster: Any = None
    database: str = ""

    @property
    def database_settings(self) -> dict[str, Any]:
        return {"DATABASES": {"default": self.cluster.database_settings(self.database)}}

    def env(self, settings: dict[str, Any] | None = None, twin: str = "") -> dict[str, str]:
        return super().env({**self.database_settings, **(settings or {})}, twin)

    def runs(self, command_id: str | None = None) -> list[dict[str, Any]]:
        """Return the stored runs (oldest first), straight from PostgreSQL."""
        rows: list[dict[str, Any]] = self.cluster.rows(self.database, command_id)
        return rows


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 60) -> None:
    """Block until the process prints a line containing ``text`` on stdout."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"the process never printed {text!r}")


def wait_for(condition: Any, timeout: float = 60, pause: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(pause)
    raise AssertionError("condition not met in time")


def strip_monitorkit_frames(text: str) -> str:
    """Drop traceback frames of monitorkit's own wrapper (the one frame it adds)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith('  File "') and "/monitorkit/" in line:
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        out.append(line)
    return "".join(out)


def signal_traceback(text: str, command_file: str) -> str:
    """Return a signal's traceback down to the command's own frame, and the exception line.

    Where inside that frame (or below it) the signal lands is chance: a process that printed
    "ready" may still be flushing it, or already sleeping, on a busy machine. So the line in
    the command and the frames below it are left out; what comes before must be the same.
    """
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith('  File "') and line.split('"')[1].endswith(command_file):
            return "\n".join([*lines[:index], re.sub(r"line \d+", "line N", line), lines[-1]])
    return text


SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT, "SIGHUP": signal.SIGHUP}
