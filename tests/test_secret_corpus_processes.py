"""No secret gets out: a real ``manage.py`` command prints and raises every shape of
``tests/secret_corpus.py``, with secrets in its own options, and every place monitorkit puts
text is read back: the SQLite store, the status page and its JSON (a staff user's view), the
metrics, the Firebase tree (the local RTDB server), the alerts of a real watcher (e-mail through
a real SMTP server, webhook through a real HTTP server) and every ``monitorkit`` log line of the
command and of the watcher. None holds a secret; the look-alikes are all kept where the run's
text is kept.
"""

from __future__ import annotations

import email
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.process import Project
from tests.secret_corpus import ALL_SECRETS, OPTIONS, leaked, lost

# The redactor's own tests (tests/test_redaction.py) run in every leg; this end-to-end pass
# over every surface runs once.
pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.once,
    pytest.mark.django_db(transaction=True),
]

COMMAND_ID = "secrets_command"  # every option is sensitive by its name, passes too
ARGS = ["secrets_command", "--passes=3"]
ARGS += [f"--{name.replace('_', '-')}={value}" for name, value in OPTIONS.items()]
#: A webhook that cannot be reached, with credentials in its URL: its failure is logged.
DEAD_HOOK_SECRETS = ["hook-Pa55word", "hook-token-123456"]
FAST = {"FIREBASE_MONITORING_INTERVAL_PING": 0.2, "MONITORKIT_STALE_AFTER": 1.0}


def logging_to(path: Path) -> dict[str, Any]:
    return {
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(levelname)s %(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "filename": str(path),
                    "formatter": "plain",
                }
            },
            "loggers": {"monitorkit": {"handlers": ["file"], "level": "DEBUG"}},
        }
    }


def no_secret(where: str, text: str, extra: list[str] = ()) -> None:  # type: ignore[assignment]
    found = leaked(text) + [s for s in extra if s in text]
    assert not found, f"{where} holds {found}"


def all_lookalikes(where: str, text: str) -> None:
    missing = lost(text)
    assert not missing, f"{where} lost {missing}"


@pytest.fixture
def shared_project(tmp_path: Path) -> Project:
    """A project whose manage.py writes to this test's own database (a SQLite file)."""
    (tmp_path / "db.sqlite3").symlink_to(connection.settings_dict["NAME"])
    return Project(tmp_path)


def test_no_secret_reaches_the_store_page_json_metrics_alerts_or_log(
    shared_project: Project, admin_client, http_sink, smtp_server, settings, tmp_path: Path
):
    project = shared_project
    log = tmp_path / "monitorkit.log"
    hook = "http://hook:hook-Pa55word@127.0.0.1:9/hook?token=hook-token-123456"
    alerts = {
        "webhook": [
            {"url": f"{http_sink.url}/hook", "retries": 0, "timeout": 5},
            {"url": hook, "retries": 0, "timeout": 2},
        ],
        "email": {"to": ["ops@example.com"], "from": "monitor@example.com"},
    }
    run_settings = {
        **FAST,
        **logging_to(log),
        "MONITORKIT_OUTPUT_TAIL_KB": 16,
        "MONITORKIT_SCHEDULES": {"scheduled_command": {"schedule": None}},
        "MONITORKIT_ALERTS": alerts,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": int(settings.EMAIL_PORT),
    }
    result = project.run(*ARGS, settings=run_settings)
    assert result.returncode == 1
    assert "hunter2-plain" in result.stdout  # the command's own output is untouched
    watch = project.run("monitor_watch", "--once", settings=run_settings)
    assert watch.returncode == 0, watch.stderr

    # The store, as the file holds it.
    (run,) = project.runs(COMMAND_ID)
    stored = json.dumps(run, default=str)
    no_secret("the stored run", stored)
    for field in ("output", "message", "traceback"):
        all_lookalikes(f"the stored {field}", run[field])
    assert run["params"] == (
        "pwd=********,bearer=********,cookie=********,private_token=********,passes=********"
    )

    # The page and its JSON, as a staff user sees them.
    page = admin_client.get(f"/monitor/commands/{COMMAND_ID}/")
    assert page.status_code == 200
    html = page.content.decode()
    no_secret("the command page", html)
    assert "token count: 42" in html and "processed 3 items in 13 seconds, batch 33" in html
    for url in (f"/monitor/commands/{COMMAND_ID}/?format=json", "/monitor/?format=json"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        no_secret(url, response.content.decode())

    # The metrics.
    settings.MONITORKIT_METRICS_TOKEN = "metrics-token-abcdef"
    metrics = admin_client.get("/monitor/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-abcdef")
    assert metrics.status_code == 200 and COMMAND_ID in metrics.content.decode()
    no_secret("the metrics", metrics.content.decode())

    # The alerts: the webhook's body and the e-mail's body.
    (request,) = http_sink.requests
    body = request.body.decode()
    assert request.json()["health"] == "FAILING"
    no_secret("the webhook body", body)
    all_lookalikes("the webhook body", request.json()["message"])
    (envelope,) = smtp_server.envelopes
    mail = email.message_from_bytes(envelope.content)
    text = mail.get_payload(decode=True).decode()
    no_secret("the e-mail", text + str(mail["Subject"]))
    all_lookalikes("the e-mail", text)

    # Every monitorkit log line of the command and of the watcher (the dead hook's failure too).
    lines = log.read_text()
    assert "127.0.0.1:9" in lines, lines  # the dead hook's failure was logged
    no_secret("the monitorkit log", lines, DEAD_HOOK_SECRETS)


def test_no_secret_reaches_the_firebase_tree(project: Project, rtdb_server, tmp_path: Path):
    from tests.test_firebase_processes import NS, firebase

    log = tmp_path / "monitorkit.log"
    settings = {**firebase(rtdb_server.url), **logging_to(log), "MONITORKIT_OUTPUT_TAIL_KB": 16}
    result = project.run(*ARGS, settings=settings)
    assert result.returncode == 1
    tree = json.dumps(rtdb_server.data(NS), ensure_ascii=False)
    assert COMMAND_ID in tree
    no_secret("the Firebase tree", tree)
    no_secret("the Firebase tree (JSON-escaped)", json.dumps(rtdb_server.data(NS)))
    all_lookalikes("the Firebase tree", tree)
    no_secret("the monitorkit log", log.read_text() if log.exists() else "")


def test_the_corpus_is_what_the_command_prints(project: Project):
    """The checks above mean something only if the command really prints every secret."""
    result = project.run(*ARGS, settings={"MONITORKIT_AUTO": False}, twin="plain")
    printed = result.stdout + result.stderr
    assert [s for s in ALL_SECRETS if s not in printed] == []


def test_auto_mode_keeps_nothing_of_what_diffsettings_and_dumpdata_print(project: Project):
    auto = {"MONITORKIT_AUTO": True, "EMAIL_HOST_PASSWORD": "smtp-Pa55-settings"}
    diff = project.run("diffsettings", settings=auto)
    assert diff.returncode == 0 and "smtp-Pa55-settings" in diff.stdout
    dump = project.run("dumpdata", "contenttypes", "monitorkit", settings=auto)
    assert dump.returncode == 0 and '"model": "contenttypes.contenttype"' in dump.stdout
    (run,) = project.runs()  # diffsettings is not monitored; dumpdata is, without its output
    assert (run["command_id"], run["status"]) == ("dumpdata__contenttypes__monitorkit", "FINISHED")
    assert not run["output"]
