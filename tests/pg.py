"""A throw-away PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` in a temporary dir.

The server listens on a free port of 127.0.0.1 and on a unix socket in its own directory, with
``fsync`` off (nothing in it outlives the session). PostgreSQL refuses to run as root, so under
root (CI, containers) the cluster belongs to the ``postgres`` user and its programs run through
``runuser``. The binaries are looked for on ``PATH``, then in Debian's
``/usr/lib/postgresql/<version>/bin`` (``bash scripts/setup`` installs them there).

Tests that need it are marked ``postgres``: they run once, on the main leg of ``scripts/test``,
not in every Django/Python leg (``noxfile.py`` deselects them). When the cluster cannot start
they are skipped, or fail if ``MONITORKIT_REQUIRE_POSTGRES=1`` says PostgreSQL must be there.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

REQUIRE_ENV = "MONITORKIT_REQUIRE_POSTGRES"
OWNER = "postgres"  # the system user that owns the cluster when the tests run as root


class PostgresUnavailable(Exception):
    """The cluster could not be set up; the message says why."""


def find_bindir() -> Path:
    """Return the directory of ``initdb`` and ``pg_ctl``: ``PATH`` first, then Debian's."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name.split(".")[0] or 0),
    )
    if not candidates:
        raise PostgresUnavailable(
            "initdb not found on PATH or in /usr/lib/postgresql/*/bin (run bash scripts/setup)"
        )
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    """One running cluster; ``database_settings`` points Django at one of its databases."""

    bindir: Path
    root: Path
    port: int = field(default_factory=free_port)
    as_owner: bool = field(default_factory=lambda: os.geteuid() == 0)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_owner:
            command = ["runuser", "-u", OWNER, "--", *command]
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
            )

    def start(self) -> None:
        if self.as_owner:
            owner = pwd.getpwnam(OWNER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        if not self.data.exists():
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            )
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(self.root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server, cutting every connection; ``fast`` keeps the last commits.

        ``immediate`` (enough at the end of the session) loses the commits of the last moments:
        ``synchronous_commit`` is off.
        """
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # Databases.
    def connect(self, dbname: str = "postgres") -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=10,
        )

    def create_database(self, template: str | None = None) -> str:
        name = f"mk_{uuid.uuid4().hex[:12]}"
        with self.connect() as con:
            suffix = f" TEMPLATE {template}" if template else ""
            con.execute(f"CREATE DATABASE {name}{suffix}")
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def database_settings(self, name: str) -> dict[str, Any]:
        """A Django ``DATABASES`` entry for database ``name`` of this cluster."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
        }

    def rows(self, name: str, command_id: str | None = None) -> list[dict[str, Any]]:
        """Return the stored runs of database ``name`` (oldest first), read with psycopg."""
        sql = "SELECT * FROM monitorkit_commandrun"
        params: tuple[Any, ...] = ()
        if command_id is not None:
            sql += " WHERE command_id = %s"
            params = (command_id,)
        with self.connect(name) as con:
            return con.execute(sql + " ORDER BY started, seq", params).fetchall()


def start_cluster() -> PostgresCluster:
    """Start a cluster in a new temporary directory (short: the socket path has a limit)."""
    root = Path(tempfile.mkdtemp(prefix="mk-pg-"))
    cluster = PostgresCluster(find_bindir(), root)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def remove_cluster(cluster: PostgresCluster) -> None:
    try:
        cluster.stop()
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)
