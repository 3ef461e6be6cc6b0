from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.pg import (
    REQUIRE_ENV,
    PostgresCluster,
    PostgresUnavailable,
    remove_cluster,
    start_cluster,
)
from tests.process import MANAGE, ROOT, PostgresProject, Project

pytest_plugins = ["monitorkit.testing.pytest_plugin", "tests.sinks"]


def _sqlite_without_fsync(sender: object, connection: Any, **kwargs: object) -> None:
    """No fsync on the in-process tests' SQLite connections (``synchronous = OFF``).

    A transactional test ends by flushing its tables: commits, each waiting on the disk,
    about 1,700 times per leg. No
    in-process test is about surviving a power cut, and locking is unchanged; the throw-away
    PostgreSQL cluster runs with ``fsync=off`` for the same reason (tests/pg.py). The
    ``manage.py`` processes the tests start keep SQLite's default, as a project has it.
    """
    if connection.vendor == "sqlite":
        # On the driver's connection: not a query that the tests' query counters would see.
        connection.connection.execute("PRAGMA synchronous = OFF")


#: What ``migrate`` made and no test changes: kept by the flush after a transactional test.
MADE_BY_MIGRATE = frozenset({"django_content_type", "auth_permission"})


def _flush_all_but_what_migrate_made(
    style: Any, connection: Any, reset_sequences: bool = True, allow_cascade: bool = False
) -> list[str]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    kept = [table for table in tables if table not in MADE_BY_MIGRATE]
    return connection.ops.sql_flush(  # type: ignore[no-any-return]
        style, kept, reset_sequences=reset_sequences, allow_cascade=allow_cascade
    )


def _nothing_to_make_again(*args: object, **kwargs: object) -> None:
    """``post_migrate`` after a flush re-creates content types and permissions: kept instead."""


def pytest_configure(config: pytest.Config) -> None:
    from django.core.management.commands import flush
    from django.db.backends.signals import connection_created

    connection_created.connect(_sqlite_without_fsync)
    # A transactional test (``django_db(transaction=True)``: the sender's thread must see what
    # the test wrote) ends with Django's ``flush``: every table emptied, then ``post_migrate``
    # makes the content types and permissions again, a score of queries (about a quarter of the
    # in-process tests' time). The two tables are kept instead, with the same rows, ids and
    # cache; no test adds to them, and every other table is emptied as before.
    flush.sql_flush = _flush_all_but_what_migrate_made  # type: ignore[assignment]
    flush.emit_post_migrate_signal = _nothing_to_make_again  # type: ignore[assignment]


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file, made once and copied for each test that runs processes."""
    directory = tmp_path_factory.mktemp("template")
    project = Project(directory)
    subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "-v0"],
        env=project.env(),
        cwd=ROOT,
        check=True,
    )
    return str(project.db_path)


@pytest.fixture
def project(tmp_path, migrated_template) -> Project:
    """A fresh copy of the test project's database for real ``manage.py`` processes."""
    shutil.copy(migrated_template, tmp_path / "db.sqlite3")
    return Project(tmp_path)


@pytest.fixture(autouse=True)
def _own_spool(tmp_path) -> Iterator[None]:
    """Give each in-process test its own spool, so no test delivers another's records."""
    from django.test import override_settings

    with override_settings(MONITORKIT_SPOOL_DIR=str(tmp_path / "own-spool")):
        yield


# --- PostgreSQL (tests/pg.py): one throw-away cluster per session, a database per test -------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster; skipped without one, unless it is required."""
    try:
        cluster = start_cluster()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError, KeyError) as err:
        message = f"PostgreSQL could not be started: {err}"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1)")
        pytest.skip(message)
    try:
        yield cluster
    finally:
        remove_cluster(cluster)


@pytest.fixture(scope="session")
def pg_template(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated PostgreSQL database, the template of each test's own database."""
    name = postgres.create_database()
    project = PostgresProject(tmp_path_factory.mktemp("pg-template"), postgres, name)
    subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "-v0"],
        env=project.env(),
        cwd=ROOT,
        check=True,
    )
    return name


@pytest.fixture
def pg_project(tmp_path, postgres: PostgresCluster, pg_template: str) -> Iterator[Project]:
    """Like ``project``, with the test project's database on PostgreSQL."""
    name = postgres.create_database(template=pg_template)
    yield PostgresProject(tmp_path, postgres, name)
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_project(request: pytest.FixtureRequest) -> Project:
    """The ``project`` on SQLite, then on PostgreSQL: for tests where the store matters."""
    fixture = "project" if request.param == "sqlite" else "pg_project"
    value: Project = request.getfixturevalue(fixture)
    return value
