"""The release: wheel and sdist build, pass ``twine check``, and the wheel works on its own.

The wheel is installed into a fresh virtual environment and the demo's commands run against
it from a copy of ``example/`` outside the repository, so a file missing from the package
(a migration, ``py.typed``) fails here and not on a user's machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.process import ROOT

pytestmark = [pytest.mark.packaging, pytest.mark.once]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def test_wheel_and_sdist_pass_twine_check(dist: Path):
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"]
    subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
        check=True,
        capture_output=True,
    )
    names = zipfile.ZipFile(next(dist.glob("*.whl"))).namelist()
    for needed in (
        "monitorkit/py.typed",
        "monitorkit/migrations/0001_initial.py",
        "monitorkit/management/commands/monitor_status.py",
        "monitorkit/testing/rtdb_server.py",
    ):
        assert needed in names
    assert not [n for n in names if n.startswith(("tests/", "example/", "benchmarks/"))]


def test_the_wheel_runs_the_demo_commands_in_a_fresh_environment(dist: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next(dist.glob("*.whl"))
    subprocess.run(
        # --no-compile: the demo's commands compile what they import, not all of Django.
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            str(wheel),
        ],
        check=True,
    )
    project = tmp_path / "example"
    shutil.copytree(ROOT / "example", project, ignore=shutil.ignore_patterns("*.sqlite3"))
    env = {"PATH": "/usr/bin:/bin", "DEMO_DB": str(tmp_path / "demo.sqlite3")}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "manage.py", *args], cwd=project, env=env, capture_output=True, text=True
        )

    where = subprocess.run(
        [str(python), "-c", "import monitorkit; print(monitorkit.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in where.stdout  # the wheel, not the working tree
    assert manage("migrate", "-v0").returncode == 0
    assert manage("send_newsletter").returncode == 0
    assert manage("sync_inventory").returncode == 1
    assert manage("import_orders", "--count=3", "--delay=0").returncode == 0
    status = manage("monitor_status", "--json")
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    runs = {run["name"]: run for run in rows if "name" in run}
    # nightly_report declares a schedule and never ran: listed with its health, no run.
    assert {"id": "nightly_report", "health": "NEW"}.items() <= next(
        row for row in rows if row["id"] == "nightly_report"
    ).items()
    assert runs["send_newsletter"]["status"] == "FINISHED"
    assert runs["sync_inventory"]["status"] == "FAILED"
    assert runs["import_orders"]["progress"] == {"done": 3, "total": 3}
