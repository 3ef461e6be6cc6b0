"""The one redactor: every shape, one answer on every path, short values left alone, the traceback
masked before it is cut, options no id may hold, and options whose ``str()`` raises."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.management import call_command

from monitorkit import MonitoredCommand, naming
from monitorkit.alerts.message import build_alert, safe_text
from monitorkit.cleaning import Cleaner
from monitorkit.models import CommandRun
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.redaction import MASK, redact
from monitorkit.stores.firebase.http import RealtimeDatabaseClient
from monitorkit.transitions import Transition
from tests.secret_corpus import LOOKALIKES, SECRETS, leaked


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_every_shape_of_the_corpus_is_masked_by_itself(name):
    line, secret = SECRETS[name]
    assert secret not in redact(line)
    assert MASK in redact(line)


def test_the_lookalikes_are_left_alone():
    text = "\n".join(LOOKALIKES)
    assert redact(text) == text


def test_every_path_gives_the_same_answer():
    """The stored message, the alert's message and a transport error mask alike."""
    text = "\n".join(line for line, _ in SECRETS.values())
    stored = Cleaner().text(text, "message")
    alerted = safe_text(text)
    client = RealtimeDatabaseClient.__new__(RealtimeDatabaseClient)
    client.secrets = lambda: []  # type: ignore[method-assign]
    transport = client.redact(text)
    assert stored == alerted == transport == redact(text)
    assert leaked(stored or "") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgres://app:Ab/Cd+Ef==@db.internal:5432/prod",
            "postgres://app:********@db.internal:5432/prod",
        ),
        ("x https://u:a%2Fb@c@h/p y", "x https://u:********@h/p y"),
        ("fetch ?access_token=abc123&x=1 failed", "fetch ?access_token=********&x=1 failed"),
        ("Authorization: Bearer eyJ.a.b", "Authorization: Bearer ********"),
        ("{'api_key': 'k-1', 'limit': 5}", "{'api_key': '********', 'limit': 5}"),
        ("KeyError: 'session'", "KeyError: 'session'"),
        ("token count: 42", "token count: 42"),
        ("if token_count == 42:", "if token_count == 42:"),
    ],
)
def test_shapes(text, expected):
    assert redact(text) == expected


def test_sensitive_options_are_named_in_every_spelling_of_the_issue():
    options = [
        ("pwd", "pwd-Secret-777"),
        ("bearer", "bearer-opt-8888"),
        ("cookie", "sessionid=cookie-opt-9999"),
        ("session", "s-1234"),
        ("private_key_file", "/etc/key.pem"),
        ("credential", "c-1234"),
        ("dsn", "x"),
        ("limit", 5),
    ]
    assert naming.command_id("job", options) == "job__limit_5"
    assert naming.format_params(options) == (
        "pwd=********,bearer=********,cookie=********,session=********,"
        "private_key_file=********,credential=********,dsn=********,limit=5"
    )


def test_a_value_that_holds_a_secret_shape_is_sensitive_whatever_its_name():
    options = [("header", "Authorization: Bearer abcdef123456"), ("limit", 5)]
    assert naming.command_id("job", options) == "job__limit_5"
    assert "abcdef123456" not in naming.format_params(options)


def test_the_bytes_repr_of_a_non_ascii_secret_is_masked():
    secret = "s3cr3t/k+y \u00e9t\u00e9"
    secrets = naming.secret_values({"token": secret})
    text = f"sent {secret.encode()!r} and {secret.encode('utf-8')}"
    cleaned = Cleaner(secrets).text(text, "message") or ""
    assert "s3cr3t" not in cleaned
    assert cleaned == f"sent b'{MASK}' and b'{MASK}'"


def test_a_short_option_value_is_not_masked_in_free_text():
    secrets = naming.secret_values({"passes": 3, "pin": "ab", "password": "hunter2-x"})
    text = "processed 3 items in 13 seconds, batch 33; ab; hunter2-x"
    assert Cleaner(secrets).text(text, "message") == (
        "processed 3 items in 13 seconds, batch 33; ab; ********"
    )
    assert naming.format_params([("passes", 3)]) == "passes=********"  # never in the params


class Secretive(MonitoredCommand):
    monitor_command_name = "secretive"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--what", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        raise RuntimeError("x" * 40 + " password=" + "S" * 60 + " end")


@pytest.mark.django_db(transaction=True)
def test_the_traceback_is_masked_before_it_is_cut(settings):
    # The traceback ends with "RuntimeError: xxx... password=SSSS... end\n": a limit of 40
    # cuts inside the secret. Cut first, its second half would be kept.
    settings.MONITORKIT_TRACEBACK_LIMIT = 40
    with pytest.raises(RuntimeError):
        call_command(Secretive())
    (run,) = CommandRun.objects.all()
    assert "SSSS" not in run.traceback
    assert run.traceback.endswith(f"password={MASK} end\n")
    assert len(run.traceback) == 40


def test_the_alert_masks_the_whole_traceback_before_taking_its_last_lines():
    block = "\n".join(["-----BEGIN PRIVATE KEY-----", *["QUJDREVGR0hJSktMTU5PUA=="] * 12])
    record = RunRecord(
        id="job", name="job", params="", run_id="r", host="h", pid=1,
        started=utcnow(), latest=utcnow(), status=Status.FAILED, message="boom",
        traceback=block + "\n-----END PRIVATE KEY-----\nValueError: boom",
    )  # fmt: skip
    transition = Transition(
        command_id="job", previous="OK", health="FAILING", at=utcnow(), record=record
    )
    alert = build_alert(transition)
    assert "QUJDREVGR0hJSktMTU5PUA" not in alert.text
    assert "QUJDREVGR0hJSktMTU5PUA" not in (alert.traceback_tail or "")


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.django_db(transaction=True)
def test_an_option_whose_str_raises_still_leaves_a_record(caplog):
    out = io.StringIO()
    with caplog.at_level(logging.WARNING, "monitorkit"), pytest.raises(RuntimeError):
        call_command(Secretive(), what=Unprintable(), stdout=out)
    (run,) = CommandRun.objects.all()
    assert run.status == "FAILED"
    assert run.params == "what=<unprintable Unprintable object>"
    assert run.command_id.startswith("secretive__what_")
    assert "could not start monitoring" not in caplog.text


def test_log_lines_are_redacted_arguments_and_tracebacks_included(caplog):
    logger = logging.getLogger("monitorkit")
    with caplog.at_level(logging.WARNING, "monitorkit"):
        try:
            raise ValueError("auth with password=tb-Secret-1 failed")
        except ValueError as err:
            logger.exception("write failed: %s (%r)", err, "postgres://a:lg/Pa55@h/db")
    text = caplog.text
    assert "tb-Secret-1" not in text and "lg/Pa55" not in text


def test_the_end_of_a_private_key_block_whose_start_was_cut_off_is_masked():
    text = "QUJDREVGR0hJSktMTU5PUA==\nUVJTVFVWV1hZWmFiY2RlZg==\n-----END RSA PRIVATE KEY-----\nok"
    assert redact(text) == f"{MASK}\n-----END RSA PRIVATE KEY-----\nok"


def test_is_sensitive_name_without_the_pattern_agrees_with_it() -> None:
    """A name that holds none of the words is refused without compiling the pattern; every
    name gets what the pattern alone says (the Kelvin sign matches ``K`` under IGNORECASE)."""
    import random
    import re

    from monitorkit.redaction import SENSITIVE_NAME_SOURCE, is_sensitive_name

    pattern = re.compile(SENSITIVE_NAME_SOURCE, re.IGNORECASE)
    words = ["api", "Token", "KEY", "secret", "pass", "auth", "author", "cookie", "dsn", "pwd"]
    pieces = [*words, "verbosity", "_", "-", "x", "Error", "Warning", "\u212a", "ſ", "é", "or"]
    rng = random.Random(16)
    names = ["toKen".replace("K", "\u212a"), "author", "authority", "KeyError", "pythonpath"]
    names += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    for name in names:
        expected = bool(pattern.search(name)) and not re.search(
            r"(?:Error|Exception|Warning)\Z", name
        )
        assert is_sensitive_name(name) is expected, repr(name)
