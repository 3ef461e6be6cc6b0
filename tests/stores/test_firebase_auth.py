"""Credentials: none, AUTH_TOKEN, a service-account key (real token exchange), the emulator."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import Any

import pytest

from monitorkit import retry
from monitorkit.record import Status
from monitorkit.retry import RetryPolicy
from monitorkit.stores.base import ReporterError
from monitorkit.stores.firebase.auth import (
    SCOPES,
    AuthTokenCredentials,
    Credentials,
    EmulatorAdminCredentials,
    ServiceAccountCredentials,
    credentials_from_settings,
)
from monitorkit.stores.firebase.http import DatabaseLocation, RealtimeDatabaseClient

from .conftest import ACCESS_TOKEN, SECRET, ServiceAccount, make_record

TIMEOUT = (0.5, 0.5)


def test_choice_of_credentials() -> None:
    def choose(config: dict[str, Any], emulator: bool = False) -> Credentials:
        return credentials_from_settings(config, emulator=emulator, timeout=TIMEOUT)

    assert type(choose({})) is Credentials
    assert isinstance(choose({"AUTH_TOKEN": "t"}), AuthTokenCredentials)
    # Constructing never touches the file: a wrong path only fails when a request is made.
    assert isinstance(choose({"CREDENTIALS": "/nope.json"}), ServiceAccountCredentials)
    assert isinstance(choose({"CREDENTIALS": "/nope.json"}, True), EmulatorAdminCredentials)
    assert isinstance(
        choose({"CREDENTIALS": "/k.json", "AUTH_TOKEN": "t"}), ServiceAccountCredentials
    )
    with pytest.raises(ReporterError, match="AUTH_TOKEN'] must be a string"):
        choose({"AUTH_TOKEN": 12345})
    with pytest.raises(ReporterError, match="CREDENTIALS'] must be the path"):
        choose({"CREDENTIALS": {"type": "service_account"}})


def test_auth_token_goes_in_the_query_and_opens_a_locked_database(
    rtdb_server_factory: Any, reporter_for: Any
) -> None:
    server = rtdb_server_factory(secret=SECRET)
    reporter = reporter_for(server, AUTH_TOKEN=SECRET)
    reporter.write(make_record())
    assert server.requests and all(r.query.get("auth") == SECRET for r in server.requests)
    assert all(r.status == 200 for r in server.requests)
    assert len(reporter.command_history("import_data__limit_10")) == 1


def test_open_rules_need_no_credential(rtdb_server: Any, reporter_for: Any) -> None:
    reporter_for(rtdb_server).write(make_record())
    assert all("auth" not in r.query for r in rtdb_server.requests)
    assert rtdb_server.data()["monitor-tests"]["latest"]["import_data__limit_10"]["seq"] == 1


def test_service_account_token_is_fetched_once_and_sent_as_bearer(
    rtdb_server_factory: Any, reporter_for: Any, service_account: ServiceAccount
) -> None:
    server = rtdb_server_factory(secret=ACCESS_TOKEN)  # a missing or wrong bearer is a 401
    reporter = reporter_for(server, CREDENTIALS=str(service_account.path))
    record = make_record()
    reporter.write(record)
    record.status = Status.RUNNING
    reporter.write(record)
    record.status = Status.FINISHED
    reporter.write(record)
    # A second run (a new reporter, as each run gets) reuses the cached token.
    reporter_for().write(make_record("run-00002"))
    assert all(r.status == 200 and "auth" not in r.query for r in server.requests)
    endpoint = service_account.endpoint
    assert endpoint.problems == []
    assert len(endpoint.grants) == 1
    assert set(endpoint.grants[0]["scope"].split()) == set(SCOPES)
    assert reporter.latest_runs()[0].run_id == "run-00002"


def test_service_account_token_is_refreshed_before_it_expires(
    rtdb_server_factory: Any, reporter_for: Any, service_account: ServiceAccount
) -> None:
    # google-auth treats a token as expired minutes early: one that lives 60 s is never
    # reused, which proves the refresh happens before the server could refuse it.
    service_account.endpoint.expires_in = 60
    server = rtdb_server_factory(secret=ACCESS_TOKEN)
    reporter = reporter_for(server, CREDENTIALS=str(service_account.path))
    reporter.write(make_record())  # a first run: claim, then write (no predecessor)
    assert len(server.requests) == 2
    assert len(service_account.endpoint.grants) == 2
    assert all(r.status == 200 for r in server.requests)


def test_a_wrong_bearer_is_a_401_that_names_no_token(
    rtdb_server_factory: Any,
    reporter_for: Any,
    service_account: ServiceAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    service_account.endpoint.access_token = "ya29.not-what-the-server-wants"
    server = rtdb_server_factory(secret=ACCESS_TOKEN)
    reporter = reporter_for(server, CREDENTIALS=str(service_account.path))
    with pytest.raises(ReporterError, match=r"HTTP 401\): Permission denied") as caught:
        reporter.write(make_record())
    texts = [
        str(caught.value),
        "".join(traceback.format_exception(caught.value)),
        caplog.text,
        reporter.redact("Bearer ya29.not-what-the-server-wants went out"),
    ]
    assert all("ya29.not-what-the-server-wants" not in text for text in texts)


def test_a_refused_key_is_reported_with_the_setting_to_fix(
    rtdb_server: Any, reporter_for: Any, service_account: ServiceAccount
) -> None:
    service_account.endpoint.status = 400
    reporter = reporter_for(rtdb_server, CREDENTIALS=str(service_account.path))
    with pytest.raises(ReporterError, match=r"refused the service account key.*CREDENTIALS"):
        reporter.write(make_record())
    assert rtdb_server.requests == []
    assert len(service_account.endpoint.grants) == 1  # invalid_grant is not retried


def test_an_unreachable_token_endpoint_is_retried_then_reported(
    rtdb_server: Any, reporter_for: Any, service_account: ServiceAccount
) -> None:
    service_account.endpoint.server.shutdown()
    service_account.endpoint.server.server_close()
    reporter = reporter_for(rtdb_server, CREDENTIALS=str(service_account.path))
    with pytest.raises(ReporterError, match=r"token endpoint.*gave up after 3"):
        reporter.write(make_record())
    assert rtdb_server.requests == []


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot be read"),
        ("{not json", "not a usable service-account JSON key"),
        ('{"type": "authorized_user"}', "not a service account key"),
        ('{"type": "service_account", "private_key": "x"}', "missing fields"),
    ],
)
def test_bad_key_files(
    tmp_path: Any, rtdb_server: Any, reporter_for: Any, content: str | None, fragment: str
) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content)
    reporter = reporter_for(rtdb_server, CREDENTIALS=str(path))  # never raises here
    with pytest.raises(ReporterError, match=fragment):
        reporter.write(make_record())


def test_missing_google_auth_names_the_extra(
    rtdb_server: Any,
    reporter_for: Any,
    service_account: ServiceAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "google.oauth2.service_account", None)
    reporter = reporter_for(rtdb_server, CREDENTIALS=str(service_account.path))
    with pytest.raises(ReporterError, match=r"pip install monitorkit\[google\]"):
        reporter.write(make_record())


def test_emulator_env_uses_the_emulator_admin_instead_of_google(
    rtdb_server_factory: Any, reporter_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = rtdb_server_factory(secret=SECRET)  # accepts "Bearer owner", as the emulator does
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", server.host_port)
    reporter = reporter_for(
        DATABASE_URL="https://my-project-db.firebaseio.com", CREDENTIALS="/no/such/key.json"
    )
    reporter.write(make_record())
    assert all(r.status == 200 and r.query.get("ns") == "my-project-db" for r in server.requests)
    assert server.data("my-project-db")["monitor-tests"]["commands"]


def test_a_failing_token_endpoint_is_retried_until_the_deadline_and_not_past_it(
    rtdb_server: Any, service_account: ServiceAccount
) -> None:
    """A 503 is retried by monitorkit's retries, never by google-auth's, which sleep 1 s, 2 s."""
    service_account.endpoint.status = 503
    credentials = ServiceAccountCredentials(str(service_account.path), TIMEOUT)
    location = DatabaseLocation(rtdb_server.url)
    client = RealtimeDatabaseClient(location, credentials, timeout=TIMEOUT, policy=RetryPolicy())
    began = time.monotonic()
    # 2.5 s: room for a fourth attempt (after 0.1 + 0.2 + 0.4 s of backoff) even when each
    # attempt is slow on a busy machine (seen: three in 1 s); google-auth stops at three.
    with (
        retry.deadline(began + 2.5),
        pytest.raises(ReporterError, match=r"token endpoint.*the delivery deadline has come"),
    ):
        client.get(("k",))
    elapsed = time.monotonic() - began
    client.close()
    assert len(service_account.endpoint.grants) > 3  # tried until the deadline, not for a count
    assert elapsed < 2.5 + 2.0  # at the deadline, not long after (generous: a busy machine)
    assert rtdb_server.requests == []
