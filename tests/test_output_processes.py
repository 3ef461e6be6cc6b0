"""The output tail in real ``manage.py`` processes, each against the unmonitored twin.

What a command prints must be byte for byte what its twin prints, buffered or not
(``PYTHONUNBUFFERED`` set, as ``tests/process.py`` does, or removed, with output to a pipe); the
record keeps the end of it, scrubbed.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from typing import Any

import pytest

from tests.process import MANAGE, ROOT, Project, default_signal_dispositions, wait_for
from tests.test_firebase_processes import firebase, log_of

pytestmark = pytest.mark.subprocess

FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 1.0}
SECRET = "k3y-9f8e7d6c5b4a"
BUFFERING = pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])


def env(project: Project, settings: dict[str, Any] | None, twin: str, unbuffered: bool) -> Any:
    environ = project.env(settings, twin)
    if not unbuffered:
        environ.pop("PYTHONUNBUFFERED")
    return environ


def run_bytes(
    project: Project,
    *args: str,
    settings: dict[str, Any] | None = None,
    twin: str = "",
    unbuffered: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``manage.py`` with stdout and stderr read as bytes from pipes."""
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env(project, settings, twin, unbuffered),
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )


def both(project: Project, *args: str, **kwargs: Any) -> tuple[Any, Any]:
    """Run the twin, then the monitored command; both must succeed."""
    plain = run_bytes(project, *args, twin="plain", **kwargs)
    monitored = run_bytes(project, *args, **kwargs)
    assert plain.returncode == monitored.returncode == 0, monitored.stderr[-2000:]
    return plain, monitored


def output_of(project: Project) -> str | None:
    (run,) = project.runs()
    assert run["status"] == "FINISHED"
    output: str | None = run["output"]
    return output


@BUFFERING
def test_every_way_of_printing_is_unchanged_and_kept(project: Project, unbuffered: bool):
    plain, monitored = both(
        project, "print_command", "mixed", f"--api_key={SECRET}", unbuffered=unbuffered
    )
    assert monitored.stdout == plain.stdout
    assert monitored.stderr == plain.stderr
    assert b"five: no newline, seven|with|several|args;\n" in plain.stdout
    output = output_of(project)
    assert output is not None
    for line in (
        "one: self.stdout.write\n",
        "two: self.stderr.write\n",
        "three: print()\n",
        "four: print(file=sys.stderr)\n",
        "five: no newline, ",
        "six: sys.stderr.write\n",
        "seven|with|several|args;\n",
        "eight: ending given!\n",
        "connecting with key ******** now\n",
    ):
        assert output.count(line) == 1, line
    assert output.endswith("nine: the last line\n")
    assert SECRET not in output
    assert SECRET.encode() in plain.stdout  # the command's own output is its own business


@BUFFERING
def test_binary_writes_to_the_buffer_are_unchanged_and_kept(project: Project, unbuffered: bool):
    plain, monitored = both(project, "print_command", "binary", unbuffered=unbuffered)
    assert monitored.stdout == plain.stdout
    assert monitored.stderr == plain.stderr
    assert bytes(range(256)) in plain.stdout
    output = output_of(project)
    assert output is not None
    assert output.startswith("text before\n")
    assert "\x7f\ufffd" in output  # 0x80 and up are not UTF-8 on their own
    assert "text between\n" in output
    assert "\ufffd\x01 bytearray \ufffd\n" in output  # NUL too: no store takes it
    assert "memoryview \u20ac\n" in output
    assert "stderr bytes \ufffd\n" in output
    assert output.endswith("text after\n")


@BUFFERING
@pytest.mark.parametrize(
    "line_bytes,via", [(1_000_000, "print"), (1000, "self.stdout")], ids=["1MB-lines", "1kB-lines"]
)
def test_fifty_megabytes_are_unchanged_and_the_tail_is_their_end(
    project: Project, unbuffered: bool, line_bytes: int, via: str
):
    args = ("print_command", "big", "--megabytes=50", f"--line-bytes={line_bytes}", f"--via={via}")
    plain, monitored = both(project, *args, unbuffered=unbuffered)
    seen = [(len(p.stdout), hashlib.sha256(p.stdout).hexdigest()) for p in (plain, monitored)]
    assert seen[0] == seen[1]
    assert seen[0][0] == 50_000_000
    assert monitored.stderr == plain.stderr
    output = output_of(project)
    assert output is not None
    assert output.endswith("the end\n")
    assert plain.stdout.endswith(output.encode())
    if line_bytes < 4096:
        assert len(output) == 4096  # whole lines held the limit, then it was cut to it
    else:
        assert 3000 <= len(output) <= 4096  # one write bigger than the tail: cut after a blank


def test_a_tail_of_one_kilobyte(project: Project):
    settings = {"MONITORKIT_OUTPUT_TAIL_KB": 1}
    args = ("print_command", "big", "--megabytes=1", "--line-bytes=100", "--via=print")
    plain = run_bytes(project, *args, settings=settings, twin="plain")
    monitored = run_bytes(project, *args, settings=settings)
    assert monitored.stdout == plain.stdout
    output = output_of(project)
    assert output is not None and len(output) == 1024
    assert plain.stdout.endswith(output.encode())


def test_the_streams_are_tees_during_the_run_only_when_the_tail_is_on(project: Project):
    plain = run_bytes(project, "print_command", "streams", twin="plain")
    on = run_bytes(project, "print_command", "streams")
    off = run_bytes(project, "print_command", "streams", settings={"MONITORKIT_OUTPUT_TAIL_KB": 0})
    assert plain.stdout == b"TextIOWrapper True\n" * 4
    assert off.stdout == plain.stdout  # the original objects themselves
    assert on.stdout == b"Tee False\n" * 4
    kept, not_kept = project.runs()
    assert "Tee False\n" in kept["output"]
    assert not_kept["output"] is None


@BUFFERING
def test_a_killed_run_keeps_what_it_printed(project: Project, unbuffered: bool):
    outcomes = {}
    for twin in ("plain", ""):
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "print_command", "wait", "--seconds=60"],
            env=env(project, FAST, twin, unbuffered),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=default_signal_dispositions,
        )
        try:
            assert process.stderr is not None
            while b"ready" not in process.stderr.readline():
                assert process.poll() is None
            if not twin:
                # A heartbeat carries the output before the kill does.
                wait_for(
                    lambda: [r for r in project.runs() if r["status"] == "RUNNING" and r["output"]],
                )
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        outcomes[twin or "monitored"] = (process.returncode, stdout, stderr)
    assert outcomes["monitored"] == outcomes["plain"]
    assert outcomes["plain"][0] == -signal.SIGTERM
    printed = b"before the kill 0\nbefore the kill 1\nbefore the kill 2\n"
    # Killed by the signal, a process loses what it had not flushed: the record does not.
    assert outcomes["plain"][1] == (printed if unbuffered else b"")
    (run,) = project.runs()
    assert run["status"] == "SYSTEM_KILL"
    assert run["output"] == printed.decode() + "ready\n"


def test_the_output_reaches_firebase(project: Project, rtdb_server):
    settings = firebase(rtdb_server.url, MONITORKIT_DATABASE=False)
    plain = run_bytes(project, "print_command", "mixed", f"--api_key={SECRET}", twin="plain")
    monitored = run_bytes(
        project, "print_command", "mixed", f"--api_key={SECRET}", settings=settings
    )
    assert monitored.stdout == plain.stdout
    assert monitored.stderr == plain.stderr
    (run,) = log_of(rtdb_server, "print_command__mode_mixed")
    assert run["status"] == "FINISHED"
    assert "connecting with key ******** now\n" in run["output"]
    assert run["output"].endswith("nine: the last line\n")
    assert SECRET not in str(rtdb_server.data("monitorkit-e2e"))
