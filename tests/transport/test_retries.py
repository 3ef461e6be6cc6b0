"""The transport's attempts, against a real local server: counted, paced, bounded by the deadline.

The Firebase client's tests (tests/stores/test_firebase_http.py) cover the same layer through
its messages; these hold the layer to its own words, with a bare session.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest
import requests

from monitorkit import retry
from monitorkit.retry import RetryPolicy
from monitorkit.testing.rtdb_server import RealtimeDatabaseServer
from monitorkit.transport.retries import (
    MAX_RETRY_AFTER,
    DeadlineRetry,
    DeadlineTimeout,
    gave_up,
    gave_up_on_status,
    timed_out,
)
from monitorkit.transport.sessions import mount

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05)


def session_for(policy: RetryPolicy = FAST, **kwargs: object) -> requests.Session:
    """A session whose adapter retries GETs the transport's way; a 5xx/429 comes back last."""
    retries = DeadlineRetry(
        policy=policy, service="Test", allowed_methods=frozenset({"GET"}), **kwargs
    )
    return mount(requests.Session(), retries)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits between attempts instead of sleeping them."""
    recorded: list[float] = []
    monkeypatch.setattr(DeadlineRetry, "pause", staticmethod(recorded.append))
    return recorded


@pytest.fixture
def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_503_is_retried_logged_at_info_and_then_answered(
    rtdb_server: RealtimeDatabaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitorkit")
    rtdb_server.fail_next(2, 503)
    response = session_for(raise_on_status=False).get(f"{rtdb_server.url}/k.json?auth=abc")
    assert response.status_code == 200
    assert [r.status for r in rtdb_server.requests] == [503, 503, 200]
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(lines) == 2 and all(r.levelno == logging.INFO for r in caplog.records)
    assert lines[0].startswith("monitorkit: Test GET /k.json failed (attempt 1 of 3): HTTP 503")
    assert "abc" not in caplog.text  # a request is named by its path, never its query


def test_the_last_5xx_comes_back_saying_how_many_attempts_were_made(
    rtdb_server: RealtimeDatabaseServer,
) -> None:
    rtdb_server.fail_next(5, 500)
    response = session_for(raise_on_status=False).get(f"{rtdb_server.url}/k.json")
    assert response.status_code == 500 and len(rtdb_server.requests) == 3
    assert gave_up_on_status(response, FAST) == " (gave up after 3 attempt(s))"


def test_without_a_policy_count_or_a_deadline_three_attempts_are_made(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float]
) -> None:
    rtdb_server.fail_next(5, 502)
    session_for(RetryPolicy(), raise_on_status=False).get(f"{rtdb_server.url}/k.json")
    assert len(rtdb_server.requests) == retry.ATTEMPTS_WITHOUT_DEADLINE == 3
    assert len(sleeps) == 2 and all(0 < s <= 1.0 for s in sleeps)  # the policy's backoff


def test_with_a_deadline_attempts_go_on_until_it_and_stop_there(
    rtdb_server: RealtimeDatabaseServer,
) -> None:
    rtdb_server.fail_next(10_000, 503)
    policy = RetryPolicy(base=0.05, cap=0.1)
    began = time.monotonic()
    with retry.deadline(began + 1.0):
        response = session_for(policy, raise_on_status=False).get(f"{rtdb_server.url}/k.json")
        after = gave_up_on_status(response, policy)
    assert response.status_code == 503 and len(rtdb_server.requests) > 3
    assert after.endswith(": the delivery deadline has come)")
    assert time.monotonic() - began < 1.0 + 2.0  # generous: a busy machine


def test_a_retry_after_is_waited_for(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float]
) -> None:
    rtdb_server.fail_next(1, 429, None, {"Retry-After": "2"})
    assert session_for().get(f"{rtdb_server.url}/k.json").status_code == 200
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("deadline", "why"),
    [
        (None, f"over the {MAX_RETRY_AFTER:g} s monitorkit waits at most"),
        (2.0, "past the delivery deadline"),
    ],
)
def test_a_retry_after_too_long_ends_the_attempts_at_once(
    rtdb_server: RealtimeDatabaseServer, sleeps: list[float], deadline: float | None, why: str
) -> None:
    rtdb_server.fail_next(5, 503, None, {"Retry-After": "30"})
    at = None if deadline is None else time.monotonic() + deadline
    with retry.deadline(at):
        response = session_for(RetryPolicy(), raise_on_status=False).get(
            f"{rtdb_server.url}/k.json"
        )
        after = gave_up_on_status(response, RetryPolicy())
    assert sleeps == [] and len(rtdb_server.requests) == 1
    assert (
        after == f" (gave up after 1 attempt(s): the server asks to wait 30 s (Retry-After), {why})"
    )


def test_raised_after_the_attempts_the_error_says_how_many(refused_url: str) -> None:
    with pytest.raises(requests.ConnectionError) as caught:
        session_for().get(f"{refused_url}/k.json")
    assert gave_up(caught.value) == " (gave up after 3 attempt(s))"
    assert not timed_out(caught.value)
    assert gave_up(RuntimeError("no GaveUp in here")) == ""


def test_each_attempts_timeout_is_cut_to_the_deadline(rtdb_server_factory: object) -> None:
    server = rtdb_server_factory()  # type: ignore[operator]
    server.hang(True)
    began = time.monotonic()
    with retry.deadline(began + 0.6), pytest.raises(requests.RequestException) as caught:
        session_for(RetryPolicy()).get(f"{server.url}/k.json", timeout=DeadlineTimeout(0.5, 30.0))
    server.hang(False)
    assert timed_out(caught.value)
    assert "gave up after" in gave_up(caught.value)
    assert time.monotonic() - began < 10  # one uncut read alone would take 30 s


def test_a_timeout_outside_any_deadline_is_the_one_given() -> None:
    timeout = DeadlineTimeout(0.5, 30.0)
    assert (timeout.connect_timeout, timeout.read_timeout) == (0.5, 30.0)
    with retry.deadline(time.monotonic() + 5.0):
        assert timeout.clone().read_timeout <= 5.0 and timeout.connect_timeout == 0.5
    with retry.deadline(time.monotonic() - 1.0):
        assert timeout.read_timeout == 0.1  # never 0: the attempt still gets its floor
