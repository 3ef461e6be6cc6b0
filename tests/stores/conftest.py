"""Fixtures for reporter tests: the local Realtime Database server, fast retries, records.

Everything talks real HTTP to servers on 127.0.0.1; nothing patches ``requests``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from monitorkit.conf import monitor_settings
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.retry import RetryPolicy
from monitorkit.stores.firebase.auth import SCOPES, clear_token_cache
from monitorkit.stores.firebase.runs import FirebaseReporter
from monitorkit.testing.pytest_plugin import rtdb_server, rtdb_server_factory  # noqa: F401
from monitorkit.testing.rtdb_server import RealtimeDatabaseServer

KEY = "monitor-tests"
SECRET = "s3cr3t-DB-token/with+odd=chars"
ACCESS_TOKEN = "ya29.test-access-token-0123456789"
FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05)


@pytest.fixture(autouse=True)
def _no_emulator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's FIREBASE_DATABASE_EMULATOR_HOST must not leak into the tests."""
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)


@pytest.fixture
def firebase_settings(settings: Any) -> Callable[..., Any]:
    """Configure monitorkit for a server: ``firebase_settings(server, **FIREBASE_MONITORING)``."""

    def configure(server: RealtimeDatabaseServer | None = None, **firebase: Any) -> Any:
        if server is not None:
            firebase.setdefault("DATABASE_URL", server.url)
        settings.FIREBASE_MONITORING = firebase
        settings.FIREBASE_MONITORING_KEY = KEY
        # A short connect (a dead port fails at once), a read long enough for a busy machine: an
        # answer lost to a read timeout makes the transport send a run-number claim again.
        settings.MONITORKIT_HTTP_TIMEOUT = (0.5, 5.0)
        settings.MONITORKIT_STALE_AFTER = 60
        return settings

    return configure


@pytest.fixture
def reporter_for(firebase_settings: Callable[..., Any]) -> Callable[..., FirebaseReporter]:
    """Return a factory of reporters with fast retries, configured for a server."""

    def make(server: RealtimeDatabaseServer | None = None, **firebase: Any) -> FirebaseReporter:
        if server is not None or firebase:
            firebase_settings(server, **firebase)
        return FirebaseReporter(monitor_settings, retry_policy=FAST)

    return make


def make_record(
    run_id: str = "run-00001",
    command_id: str = "import_data__limit_10",
    *,
    status: Status = Status.STARTED,
    started: dt.datetime | None = None,
    latest: dt.datetime | None = None,
    **fields: Any,
) -> RunRecord:
    """Build a record as the command side would hand it over."""
    started = started or utcnow()
    values: dict[str, Any] = {
        "name": command_id.split("__")[0],
        "params": "limit=10",
        "host": "web-1",
        "pid": 4242,
        "latest": latest or started,
    }
    values.update(fields)
    return RunRecord(id=command_id, run_id=run_id, started=started, status=status, **values)


def run_once(reporter: FirebaseReporter, record: RunRecord) -> None:
    """Start and finish one run."""
    reporter.write(record)
    record.status = Status.FINISHED
    record.finished = record.latest = (record.latest or record.started) + dt.timedelta(seconds=1)
    record.message = "Command finished"
    reporter.write(record)


# --- a service account and the token endpoint it names ----------------------------------------


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TokenEndpoint:
    """A real OAuth2 token endpoint on 127.0.0.1 that checks the JWT grant it is sent."""

    public_key: Any
    client_email: str
    access_token: str = ACCESS_TOKEN
    expires_in: int = 3600
    status: int = 200
    grants: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def answer(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        assertion = form.get("assertion", [""])[0]
        try:
            header, payload, signature = assertion.split(".")
            self.public_key.verify(
                _b64url_decode(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(_b64url_decode(payload))
        except Exception as err:
            self.problems.append(f"bad assertion: {err!r}")
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        self.grants.append(claims)
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            self.problems.append(f"grant_type {form.get('grant_type')}")
        # google-auth addresses the grant to Google's endpoint whatever token_uri says.
        if claims.get("iss") != self.client_email or not claims.get("aud"):
            self.problems.append(f"iss/aud {claims.get('iss')} {claims.get('aud')}")
        if self.status != 200:
            return self.status, {"error": "invalid_grant", "error_description": "Refused."}
        return 200, {
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        }


@dataclass
class ServiceAccount:
    path: Path
    endpoint: TokenEndpoint
    scopes: tuple[str, ...] = SCOPES


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def service_account(tmp_path: Path, rsa_key: Any) -> Iterator[ServiceAccount]:
    """A service-account key file whose ``token_uri`` is a token endpoint served here."""
    email = "monitor@monitorkit-test.iam.gserviceaccount.com"
    endpoint = TokenEndpoint(rsa_key.public_key(), email)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, payload = endpoint.answer(parse_qs(body.decode()))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    endpoint.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "monitorkit-test",
                "private_key_id": "key-1",
                "private_key": pem,
                "client_email": endpoint.client_email,
                "client_id": "1234567890",
                "token_uri": endpoint.url,
            }
        )
    )
    clear_token_cache()
    try:
        yield ServiceAccount(path, endpoint)
    finally:
        server.shutdown()
        server.server_close()
        clear_token_cache()
