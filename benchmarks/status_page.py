"""The status page's server time over many command ids, on SQLite, and its query count.

    python -m benchmarks.status_page [--ids 500] [--runs 100]
    python -m benchmarks.status_page --command-runs 10000

Builds a throw-away SQLite database with ``--ids`` command ids of ``--runs`` runs each (the same
fill as ``benchmarks/watch_cycle.py``: every tenth id failing, every fifth with a schedule), signs
in a staff user with Django's test ``Client`` and times the overview page and its JSON (median
of 5 requests, after one warm-up), server side: no browser, no network. Counts the queries of
each at a tenth of the ids and at all of them: the count must not grow with the number of ids;
and those of one command page's timeline (issue 19, item 2: at most one, whatever the ids).
Prints one JSON object; ``benchmarks/run.py`` turns it into rows.

``--command-runs N`` measures one command id's page instead (issue 19, item 3): ``N`` kept runs
of one command with 4 kB of output and 8 kB of traceback each, its HTML page, its JSON (what
``live.js`` polls), the HTML's second page and one run's page: server time and bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

URLS = {"overview": "/monitor/", "json": "/monitor/api/overview.json"}


def __getattr__(name: str) -> Any:
    """Serve as the ROOT_URLCONF of the benchmark's project (imported after Django is set up)."""
    if name == "urlpatterns":
        from django.urls import include, path

        return [path("monitor/", include("monitorkit.urls"))]
    raise AttributeError(name)


def configure(db: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "django.contrib.staticfiles",
            "monitorkit",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db)}},
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
        ROOT_URLCONF="benchmarks.status_page",
        SECRET_KEY="benchmark-only-not-secret",
        STATIC_URL="/static/",
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        MONITORKIT_SPOOL_DIR=str(db.parent / "spool"),
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(client: Any, url: str) -> tuple[float, int]:
    """Return the median server time of 5 requests (after a warm-up) and the response size."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(5):
        began = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - began)
    return statistics.median(times), len(response.content)


def queries(client: Any, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def timeline_queries(command_id: str) -> int:
    """Count the queries of one command page's timeline (``timeline_context``), all of them."""
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from monitorkit.stores import store_reporter
    from monitorkit.web.views.timeline import timeline_context

    reporter = store_reporter()
    assert reporter is not None
    request = RequestFactory().get(f"/monitor/commands/{command_id}/", {"window": "7d"})
    with CaptureQueriesContext(connection) as captured:
        timeline_context(reporter, command_id, request)
    return len(captured)


def measure(ids: int, runs: int) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from benchmarks.watch_cycle import fill

    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=runs + 1)
    small_ids = max(1, ids // 10)
    schedules: dict[str, Any] = {}
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    fill(0, small_ids, runs, start, schedules)
    settings.MONITORKIT_SCHEDULES = schedules
    small = {name: queries(client, url) for name, url in URLS.items()}
    timeline_small = timeline_queries("job_00000")
    fill(small_ids, ids, runs, start, schedules)
    settings.MONITORKIT_SCHEDULES = schedules
    found: dict[str, Any] = {"ids": ids, "runs_per_id": runs, "small_ids": small_ids}
    found["timeline_queries_small"] = timeline_small
    found["timeline_queries_large"] = timeline_queries("job_00000")
    for name, url in URLS.items():
        seconds, size = timed(client, url)
        found[f"{name}_s"] = seconds
        found[f"{name}_bytes"] = size
        found[f"{name}_queries_small"] = small[name]
        found[f"{name}_queries_large"] = queries(client, url)
    return found


#: One command id's pages at many kept runs (``--command-runs``).
COMMAND_URLS = {
    "command": "/monitor/commands/heavy/",
    "command_json": "/monitor/api/commands/heavy.json",
    "command_page2": "/monitor/commands/heavy/?page=2",
}
OUTPUT_BYTES = 4 * 1024
TRACEBACK_BYTES = 8 * 1024


def fill_heavy(runs: int) -> str:
    """Insert ``runs`` finished runs of ``heavy``, every tenth failed, with 4 kB of output and
    8 kB of traceback each; return the newest run's id."""
    import uuid

    from monitorkit.models import CommandRun

    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=runs + 1)
    output = ("o" * 99 + "\n") * (OUTPUT_BYTES // 100) + "o" * (OUTPUT_BYTES % 100)
    traceback = ("t" * 99 + "\n") * (TRACEBACK_BYTES // 100) + "t" * (TRACEBACK_BYTES % 100)
    batch: list[Any] = []
    run_id = ""
    for seq in range(1, runs + 1):
        started = start + dt.timedelta(hours=seq)
        run_id = uuid.uuid4().hex
        batch.append(
            CommandRun(
                command_id="heavy",
                seq=seq,
                run_id=run_id,
                name="heavy",
                status="FAILED" if seq % 10 == 0 else "FINISHED",
                started=started,
                latest=started + dt.timedelta(seconds=30 + seq % 7),
                finished=started + dt.timedelta(seconds=30 + seq % 7),
                duration=30.0 + seq % 7,
                message="boom" if seq % 10 == 0 else "Command finished",
                host="bench",
                pid=1,
                output=output,
                traceback=traceback,
                metadata={"rows": seq},
            )
        )
        if len(batch) >= 2000:
            CommandRun.objects.bulk_create(batch)
            batch = []
    CommandRun.objects.bulk_create(batch)
    return run_id


def measure_command(runs: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    newest = fill_heavy(runs)
    urls = {**COMMAND_URLS, "run": f"/monitor/commands/heavy/runs/{newest}/"}
    found: dict[str, Any] = {
        "command_runs": runs,
        "output_bytes": OUTPUT_BYTES,
        "traceback_bytes": TRACEBACK_BYTES,
    }
    for name, url in urls.items():
        seconds, size = timed(client, url)
        found[f"{name}_s"] = seconds
        found[f"{name}_bytes"] = size
        found[f"{name}_queries"] = queries(client, url)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.status_page")
    parser.add_argument("--ids", type=int, default=500)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--command-runs", type=int, default=0, help="one command's pages instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="monitorkit-page-bench-") as tmp:
        configure(Path(tmp) / "page.sqlite3")
        if args.command_runs:
            print(json.dumps(measure_command(args.command_runs)))
        else:
            print(json.dumps(measure(args.ids, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
