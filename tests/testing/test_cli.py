"""``python -m monitorkit.testing``: the server as a real process, faults from the command line."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

pytestmark = pytest.mark.subprocess


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """Start the server on a free port with ``args``; yield its URL; stop it with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "monitorkit.testing", "--port", "0", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, line
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_fail_next_answers_the_first_requests_with_the_status_and_retry_after():
    with serving("--fail-next", "2", "--fail-status", "503", "--retry-after", "1") as url:
        first = requests.put(f"{url}/a.json", json=1, timeout=5)
        second = requests.put(f"{url}/a.json", json=2, timeout=5)
        third = requests.put(f"{url}/a.json", json=3, timeout=5)
        stored = requests.get(f"{url}/a.json", timeout=5).json()
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.headers["Retry-After"] == "1"
    assert first.json() == {"error": "Service Unavailable"}
    assert stored == 3  # the failed writes were not applied


def test_malformed_next_answers_200_with_a_body_that_is_not_json():
    with serving("--fail-next", "1", "--fail-status", "429", "--malformed-next", "1") as url:
        statuses = [requests.get(f"{url}/x.json", timeout=5) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 200, 200]
    with pytest.raises(ValueError):
        statuses[1].json()
    assert statuses[2].json() is None


def test_hang_holds_every_request_and_still_stops_promptly():
    with serving("--hang") as url:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{url}/x.json", timeout=0.5)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 8  # guards against a hang; it takes well under 1 s


@pytest.mark.parametrize(
    "args", [["--fail-status", "42"], ["--fail-next", "-1"], ["--latency", "-1"]]
)
def test_nonsense_fault_options_are_refused(args):
    result = subprocess.run(
        [sys.executable, "-m", "monitorkit.testing", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr
