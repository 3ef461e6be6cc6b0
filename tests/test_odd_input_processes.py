"""Odd but legal input, in real ``manage.py`` processes: the run is stored, and truthfully.

Each case once lost the run or left it ``STARTED``: an exception whose ``__str__`` raises, NaN
or ``Decimal`` progress, metadata no JSON column takes (NaN, a tuple key, a cycle, 600 levels),
a byte of argv that is not UTF-8, secrets spelled URL-encoded or ``repr``-escaped, a password in
a URL option. Every process must behave exactly as its unmonitored twin (monitorkit's lines on
stderr aside: one warning, never a traceback), and the store must end with the run finished,
the odd value replaced.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.process import Project, strip_monitorkit_frames

# Run once (on the main leg of scripts/test), not in every nox leg: the subject is value
# cleaning, pure Python; tests/test_cleaning.py runs in every leg.
pytestmark = [pytest.mark.subprocess, pytest.mark.once]

FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2}


def ours(line: str) -> bool:
    """Whether a stderr line is monitorkit's (its logger's lines all start with its name)."""
    return line.startswith("monitorkit")


def run_both(project: Project, *args: str, settings: dict[str, Any] | None = None) -> Any:
    """Run the command plain and monitored; check the process is the same; return monitored."""
    plain = project.run(*args, settings=settings, twin="plain")
    monitored = project.run(*args, settings=settings)
    assert monitored.returncode == plain.returncode
    assert monitored.stdout == plain.stdout
    theirs = [line for line in monitored.stderr.splitlines(keepends=True) if not ours(line)]
    assert strip_monitorkit_frames("".join(theirs)) == plain.stderr
    return monitored


def monitorkit_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ours(line)]


def only_run(project: Project) -> dict[str, Any]:
    (run,) = project.runs()
    return run


def test_an_exception_whose_str_raises_is_recorded_failed(project: Project):
    result = run_both(project, "odd_command", "--case=str_raises")
    assert result.returncode == 1
    run = only_run(project)
    assert run["status"] == "FAILED"
    assert run["message"] == "<exception str() failed>"
    assert run["exception_type"] == "tests.testapp.management.commands.odd_command.Unprintable"
    assert "Unprintable" in run["traceback"]
    assert run["exit_code"] == 1
    assert len(monitorkit_lines(result.stderr)) == 1
    assert "str() of the Unprintable" in result.stderr


@pytest.mark.parametrize(
    "case,progress",
    [
        ("nan_progress", {"done": None, "total": 4}),
        ("decimal_progress", {"done": 3.5, "total": 4.0}),
    ],
)
def test_odd_progress_still_lets_the_run_finish(project: Project, case: str, progress: Any):
    result = run_both(project, "odd_command", f"--case={case}", settings=FAST)
    assert result.returncode == 0
    run = only_run(project)
    assert run["status"] == "FINISHED"
    assert json.loads(run["progress"]) == progress
    assert "Traceback" not in result.stderr
    assert len(monitorkit_lines(result.stderr)) == (1 if case == "nan_progress" else 0)


METADATA = [
    ("nan_metadata", {"ratio": "NaN", "limits": ["Infinity", "-Infinity"]}),
    ("tuple_key", {"('shard', 1)": "done", "rows": 3}),
    ("circular", {"tree": {"name": "root", "self": "<circular reference>"}}),
    ("colliding_keys", {"a_b": 1, "a_b~2": 2}),
]


@pytest.mark.parametrize("case,metadata", METADATA)
def test_metadata_no_store_takes_is_replaced(project: Project, case: str, metadata: Any):
    result = run_both(project, "odd_command", f"--case={case}")
    run = only_run(project)
    assert run["status"] == "FINISHED"
    assert json.loads(run["metadata"]) == metadata
    assert "Traceback" not in result.stderr
    # The start and the end clean the same metadata: one line for the run, not two.
    assert len(monitorkit_lines(result.stderr)) == 1


def test_metadata_nested_600_deep_is_cut_without_a_traceback(project: Project):
    result = run_both(project, "odd_command", "--case=deep")
    run = only_run(project)
    assert run["status"] == "FINISHED"
    node = json.loads(run["metadata"])
    levels = 0
    while isinstance(node, dict):
        node, levels = node.get("deep", node.get("d")), levels + 1
    assert node == "<nested deeper than 20 levels>"
    assert levels == 20
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_non_utf8_byte_in_argv(project: Project):
    label = os.fsdecode(b"caf\xff")  # what Python makes of a byte that is not UTF-8
    result = run_both(project, "odd_command", "--label", label)
    assert result.returncode == 0
    run = only_run(project)
    assert run["status"] == "FINISHED"
    assert run["command_id"] == "odd_command__label_caf\ufffd"
    assert run["params"] == "label=caf\ufffd"
    assert "Traceback" not in result.stderr
    assert len(monitorkit_lines(result.stderr)) == 1


TOKEN = "tok+en/\u00e9'x\\1"


def test_secrets_in_other_spellings_are_not_stored(project: Project):
    run_both(project, "odd_command", "--case=secret_spellings", f"--token={TOKEN}")
    run = only_run(project)
    assert run["status"] == "FAILED"
    dump = json.dumps(run, ensure_ascii=False)
    spellings = {
        TOKEN,
        quote(TOKEN, safe=""),
        quote_plus(TOKEN),
        repr(TOKEN)[1:-1],
        ascii(TOKEN)[1:-1],
        json.dumps(TOKEN)[1:-1],
    }
    for spelling in spellings:
        assert spelling not in dump
        assert json.dumps(spelling)[1:-1] not in dump  # nor as the JSON column escapes it
    # The token holds a quote, so repr() and ascii() write it between double quotes.
    assert run["message"] == 'encoded ******** plus ******** repr "********" ascii "********"'
    assert json.loads(run["metadata"]) == {
        "encoded": "********",
        "repr": '"********"',
        "ascii": '"********"',
    }


def test_a_password_in_a_url_option_appears_nowhere(project: Project):
    url = "postgres://u:PW-s3cr3t@db.example.com/db"
    result = run_both(project, "odd_command", "--database-url", url, "--credentials", "CRED-X")
    run = only_run(project)
    assert run["status"] == "FINISHED"
    dump = json.dumps(run)
    for secret in ("PW-s3cr3t", "CRED-X"):
        assert secret not in dump
        assert secret not in result.stderr
    assert run["command_id"] == "odd_command"  # sensitive options stay out of the id
    assert run["params"] == "database_url=********,credentials=********"
    assert json.loads(run["metadata"]) == {"dsn": "********"}


def test_a_password_in_a_url_is_masked_in_the_message_and_traceback(project: Project):
    url = "postgres://u:PW-s3cr3t@db.example.com/db"
    result = run_both(project, "odd_command", "--case=url_fail", "--database-url", url)
    assert "PW-s3cr3t" in result.stderr  # the command's own traceback: not ours to change
    run = only_run(project)
    assert run["status"] == "FAILED"
    assert "PW-s3cr3t" not in json.dumps(run)
    assert run["message"] == "could not connect to ********"
