"""The settings tables of ``docs/configuration.md`` are the declarations in ``monitorkit/conf``.

A row written by hand drifts from its rule; these tests fail as soon as the page and the
declarations differ, and say which command rewrites the page.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitorkit import conf
from monitorkit.conf.table import fill, row, shown_default, table

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "configuration.md"
REGENERATE = "bash scripts/settings-table"
MARKED = re.compile(r"<!-- settings-table:start [\w-]+ -->\n.*?<!-- settings-table:end -->", re.S)


@pytest.fixture
def page() -> str:
    return DOCS.read_text(encoding="utf-8")


@pytest.mark.once
def test_the_page_shows_what_the_declarations_say(page):
    assert fill(page) == page, (
        "The settings tables of docs/configuration.md differ from the declarations in "
        f"monitorkit/conf/__init__.py: run `{REGENERATE}` and commit the page."
    )


@pytest.mark.once
def test_every_setting_has_one_row_and_every_row_is_a_declaration(page):
    inside = "\n".join(match.group() for match in MARKED.finditer(page))
    outside = MARKED.sub("", page)
    for setting in conf.SETTINGS:
        assert len(re.findall(rf"^\| `{setting.name}`", inside, re.M)) == 1, setting.name
        assert not re.search(rf"^\| `{setting.name}`", outside, re.M), (
            f"a row of {setting.name} outside the marked tables: only declarations make rows"
        )


def test_a_changed_row_is_written_back_from_its_declaration(page):
    stale = page.replace(
        "| `MONITORKIT_RETENTION` | `int` | `100` |", "| `MONITORKIT_RETENTION` | `int` | `50` |"
    )
    assert stale != page
    assert fill(stale) == fill(page)


def test_a_section_without_its_table_is_an_error(page):
    without = page.replace("<!-- settings-table:start timing -->", "<!-- timing -->")
    with pytest.raises(ValueError, match="settings-table:start timing"):
        fill(without)


def test_a_table_of_no_declared_section_is_an_error(page):
    stray = page + "\n<!-- settings-table:start nowhere -->\n<!-- settings-table:end -->\n"
    with pytest.raises(ValueError, match="'nowhere'"):
        fill(stray)


def test_a_table_lists_its_section_in_declaration_order():
    lines = table("sizes").splitlines()
    assert lines[0] == "| setting | type | default | what it does | check |"
    assert [line.split("`")[1] for line in lines[2:]] == [
        "MONITORKIT_RETENTION",
        "MONITORKIT_TRACEBACK_LIMIT",
        "MONITORKIT_QUEUE_SIZE",
    ]


def test_a_row_marks_the_existing_settings_and_names_the_deeper_checks():
    assert row(conf.TESTING).startswith("| `TESTING` **existing** | `bool` | `False` |")
    assert row(conf.AUTO).startswith("| `MONITORKIT_AUTO` | `bool` |")
    assert row(conf.ALERTS).endswith("| `monitorkit.W201`, `W202` … `W205`, `W207` |")
    assert row(conf.BASE_URL).endswith("| `monitorkit.W206` |")


def test_defaults_are_code_where_they_are_code():
    assert shown_default(conf.INTERVAL) == "`30`"
    assert shown_default(conf.HTTP_TIMEOUT) == "`(3.05, 5.0)`"
    assert shown_default(conf.ALERTS) == "`{}` (no alerts)"
    assert shown_default(conf.STALE_AFTER) == "3 x `FIREBASE_MONITORING_INTERVAL_PING`"
    assert shown_default(conf.AUTO_EXCLUDE) == "`monitorkit.conf.DEFAULT_AUTO_EXCLUDE`"
    assert shown_default(conf.METRICS_TOKEN) == "none (the metrics endpoint answers 404)"
    assert shown_default(conf.SPOOL_DIR) == conf.SPOOL_DIR.shown_default


@pytest.mark.once
def test_the_command_rewrites_a_page_with_no_django_settings(tmp_path, page):
    stale = tmp_path / "configuration.md"
    stale.write_text(
        page.replace("| `monitorkit.W014` |", "| `monitorkit.W999` |"), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-m", "monitorkit.conf.table", str(stale)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{stale}: rewritten\n"
    assert stale.read_text(encoding="utf-8") == fill(page)
