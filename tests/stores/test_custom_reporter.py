"""The custom reporter of ``docs/reporters.md``, run as the docs show it, against a real server.

The example is read from the page itself, so the docs cannot drift from the one-method
interface: a reporter is ``write(record)``, called on every event of a run.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reporters.md"
MODULE = "docs_reporters_example"

pytestmark = pytest.mark.django_db(transaction=True)


def example_source() -> str:
    """Return the Python block of the page that defines ``WebhookReporter``."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    (source,) = [block for block in blocks if "class WebhookReporter" in block]
    return source


@pytest.fixture
def example(http_sink) -> Iterator[types.ModuleType]:
    """The docs' module, importable by the dotted path MONITORKIT_REPORTERS takes."""
    module = types.ModuleType(MODULE)
    exec(compile(example_source(), str(DOCS), "exec"), module.__dict__)
    module.WebhookReporter.url = f"{http_sink.url}/commands"
    sys.modules[MODULE] = module
    try:
        yield module
    finally:
        del sys.modules[MODULE]


def test_the_docs_reporter_is_one_method(example) -> None:
    defined = {
        name
        for name, value in vars(example.WebhookReporter).items()
        if callable(value) and not name.startswith("__")
    }
    assert defined == {"write"}


@override_settings(
    MONITORKIT_REPORTERS=[f"{MODULE}.WebhookReporter"],
    MONITORKIT_DATABASE=False,
    FIREBASE_MONITORING=None,
)
def test_the_docs_reporter_posts_failed_runs_only(example, http_sink) -> None:
    call_command("ok_command")
    assert http_sink.requests == []  # a clean finish is not posted, nor starts and heartbeats

    with pytest.raises(ValueError, match="boom"):
        call_command("fail_command", "--kind=value")
    (posted,) = http_sink.requests
    assert posted.path == "/commands"
    run = posted.json()
    assert run["id"] == "fail_command"
    assert run["status"] == "FAILED"
    assert run["exception_type"] == "builtins.ValueError"
