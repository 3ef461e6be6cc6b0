from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.process import MANAGE, ROOT, Project

pytest_plugins = ["monitorkit.testing.pytest_plugin"]


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
