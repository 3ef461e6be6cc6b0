"""docs/testing.md, done as a user would: its conftest and tests, run by pytest in a project.

The code blocks are read from the page and run in a throw-away Django project outside this
repository, in a pytest subprocess, so the page cannot drift from what works: the opt-in plugin,
the fixtures, the settings that point monitorkit at the local server, and a monitored command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitorkit.testing.__main__ import build_parser
from monitorkit.testing.rtdb_server import RealtimeDatabaseServer

# Run once (the main leg of scripts/test), not in every nox leg: the subject is the docs page and
# the pytest plugin, which no Python or Django version changes.
pytestmark = pytest.mark.once

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
PLUGIN = "monitorkit.testing.pytest_plugin"

SETTINGS = """\
SECRET_KEY = "user-path-test"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "monitorkit", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
"""

COMMAND = """\
from monitorkit import MonitoredCommand


class Command(MonitoredCommand):
    help = "Import the day's orders."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, **options):
        self.stdout.write(f"imported {options['limit']} orders")
"""


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def write_project(root: Path, conftest: str) -> None:
    """A Django project with the `import_orders` command of Getting started, and the docs' tests."""
    files = {
        "pytest.ini": "[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\npythonpath = .\n",
        "mysite/__init__.py": "",
        "mysite/settings.py": SETTINGS,
        "shop/__init__.py": "",
        "shop/management/__init__.py": "",
        "shop/management/commands/__init__.py": "",
        "shop/management/commands/import_orders.py": COMMAND,
        "conftest.py": conftest,
        "tests/test_monitoring.py": "\n\n".join(b for b in python_blocks() if "def test_" in b),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "DJANGO_", "FIREBASE_", "MONITORKIT_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def docs_conftest() -> str:
    (block,) = [b for b in python_blocks() if b.startswith("# conftest.py")]
    return block


@pytest.mark.subprocess
def test_the_docs_tests_pass_in_a_project_that_opts_in_through_conftest(tmp_path):
    write_project(tmp_path, docs_conftest())
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b3 passed\b", result.stdout), result.stdout


@pytest.mark.subprocess
def test_the_plugin_can_be_opted_into_with_dash_p_and_is_not_loaded_otherwise(tmp_path):
    write_project(tmp_path, "")
    without = run_pytest(tmp_path)
    assert without.returncode != 0
    assert "fixture 'rtdb_server' not found" in without.stdout, without.stdout

    with_p = run_pytest(tmp_path, "-p", PLUGIN)
    assert with_p.returncode == 0, with_p.stdout + with_p.stderr


def test_the_page_names_only_options_the_command_line_has():
    bash = "".join(re.findall(r"```bash\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S))
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", bash))
    known = {option for action in build_parser()._actions for option in action.option_strings}
    assert documented and documented <= known, documented - known


def test_the_page_names_only_calls_the_server_has():
    page = PAGE.read_text(encoding="utf-8")
    section = page.split("## Inspecting and breaking the server")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    names = {
        re.match(r"\w+", code).group(0)
        for row in rows
        for code in re.findall(r"`([^`]+)`", row.split(" | ")[0])
    }
    assert len(names) >= 10
    missing = sorted(name for name in names if not hasattr(RealtimeDatabaseServer, name))
    assert not missing
