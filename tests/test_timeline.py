"""The command page's timeline: its model (``views/timeline.py``) and the page that draws it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from monitorkit.health.schedules import Expectation
from monitorkit.record import Status, format_timestamp, utcnow
from monitorkit.stores.database.runs import DatabaseReporter
from monitorkit.web.views.timeline import MAX_TICKS, timeline
from tests.stores.test_database import make_record
from tests.test_status_page import store

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def run(hours_ago: float, status: str = "FINISHED", seq: int = 1, **fields: Any) -> dict[str, Any]:
    """A run as ``dashboard.run_json`` gives it: what the timeline reads."""
    started = NOW - dt.timedelta(hours=hours_ago)
    return {
        "started": format_timestamp(started),
        "status": status,
        "seq": seq,
        "duration": 2.0,
        "stale": False,
        **fields,
    }


def statuses(model: dict[str, Any]) -> list[str]:
    return [mark["status"] for mark in model["marks"]]


def test_the_marks_are_the_runs_in_the_window_with_their_outcomes():
    runs = [
        run(1, "RUNNING", 6, stale=True),
        run(3, "FAILED", 5),
        run(5, "MISSED", 4, duration=None),
        run(7, "FINISHED", 3),
        run(23.9, "SYSTEM_KILL", 2),
        run(24.5, "FINISHED", 1),  # before the 24 hours
    ]
    model = timeline(runs, None, NOW, "24h")
    assert statuses(model) == ["SYSTEM_KILL", "FINISHED", "MISSED", "FAILED", "STALE"]
    assert [mark["missed"] for mark in model["marks"]] == [False, False, True, False, False]
    assert model["marks"][3]["title"] == "#5 · FAILED · 2026-03-04 09:00:00 UTC · 2.0 s"
    xs = [float(mark["x"]) for mark in model["marks"]]
    assert xs == sorted(xs) and xs[0] >= 0 and xs[-1] <= model["width"]
    assert float(model["marks"][-1]["x"]) == pytest.approx(720 * 23 / 24, abs=0.01)
    # Seven days take in the run of 24.5 hours ago.
    assert len(timeline(runs, None, NOW, "7d")["marks"]) == 6
    assert timeline(runs, None, NOW, "24h")["ticks"] == []


def test_the_axis_is_labelled_in_utc_at_whole_hours_and_days():
    model = timeline([], None, NOW, "24h")
    assert [label["text"] for label in model["labels"]][:3] == ["15:00", "18:00", "21:00"]
    assert len(model["labels"]) == 7
    week = timeline([], None, NOW, "7d")
    assert week["labels"][0]["text"] == "Thu 26 Feb"
    assert len(week["labels"]) == 7


def test_a_cron_schedules_expected_starts_are_ticks():
    every_six_hours = Expectation("x", schedule="0 */6 * * *", timezone="UTC")
    model = timeline([], every_six_hours, NOW, "24h")
    # 12:00 yesterday (the window's start) to 12:00 now: 12, 18, 0, 6, 12.
    assert model["ticks"] == ["0.00", "180.00", "360.00", "540.00", "720.00"]
    assert model["expected"] == 5 and model["note"] == ""


def test_no_tick_is_drawn_before_the_oldest_kept_record():
    """Older runs are no longer kept (or the command did not exist): no tick says "missed"."""
    every_six_hours = Expectation("x", schedule="0 */6 * * *", timezone="UTC")
    model = timeline([run(7, seq=1)], every_six_hours, NOW, "24h")  # 05:00 today
    assert model["ticks"] == ["540.00", "720.00"]  # 06:00 and 12:00
    assert model["note"] == (
        "Nothing older than 2026-03-04 05:00 UTC is kept: expected starts are drawn from there."
    )


def test_an_interval_schedules_expected_starts_follow_the_runs():
    every_four_hours = Expectation("x", schedule=4 * 3600)
    runs = [run(2.5, seq=3), run(6.5, seq=2), run(30, seq=1)]
    model = timeline(runs, every_four_hours, NOW, "24h")
    # From the run 30 h ago: 26 h ago (before the window), 22, 18, 14, 10; the run 6.5 h ago
    # came after 10 h ago, so the starts expected next are 4 h after it: 2.5 h ago (the
    # newest run answers it); 4 h after that is still to come.
    hours_ago = [22, 18, 14, 10, 2.5]
    assert model["ticks"] == [f"{(24 - hours) / 24 * 720:.2f}" for hours in hours_ago]


def test_too_many_expected_starts_are_not_drawn_but_said():
    every_minute = Expectation("x", schedule="* * * * *", timezone="UTC")
    day = timeline([], every_minute, NOW, "24h")
    assert day["ticks"] == [] and day["expected"] == 0
    assert (
        day["note"] == f"More than {MAX_TICKS} starts are expected in 24 hours: they are not drawn."
    )
    hourly = timeline([], Expectation("x", schedule="0 * * * *", timezone="UTC"), NOW, "7d")
    assert len(hourly["ticks"]) == 7 * 24 + 1 and hourly["note"] == ""


@pytest.fixture
def _hourly(settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "export": {"schedule": "0 * * * *", "timezone": "UTC"},
    }


def store_runs(command_id: str = "export") -> None:
    """Three finished runs, a failed one, a missed start and a stale run in the last 24 hours,
    and one finished two days ago."""
    hour = dt.timedelta(hours=1)
    now = utcnow()
    for hours in (48, 20, 12, 6):
        store(make_record(command_id, started=now - hours * hour), 3.0)
    store(make_record(command_id, started=now - 5 * hour), 2.0, Status.FAILED)
    missed_at = now - 4 * hour
    missed = make_record(command_id, started=missed_at, latest=missed_at, finished=missed_at)
    missed.status, missed.pid, missed.message = Status.MISSED, None, "Missed"
    DatabaseReporter().write(missed)
    silent = make_record(command_id, started=now - 2 * hour, latest=now - 2 * hour)
    silent.status = Status.RUNNING
    DatabaseReporter().write(silent)


def svg_of(html: str) -> str:
    return html.split('<svg class="timeline"')[1].split("</svg>")[0]


def marks(svg: str) -> list[str]:
    return re.findall(r'<g class="mark[^"]*" data-status="([A-Z_]+)" tabindex="0"', svg)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_hourly")
def test_the_page_draws_a_mark_for_each_run_of_the_window(admin_client):
    store_runs()
    html = admin_client.get("/monitor/commands/export/").content.decode()
    assert html.index('id="durations"') < html.index('id="timeline"') < html.index('id="runs"')
    svg = svg_of(html)
    assert sorted(marks(svg)) == ["FAILED", "FINISHED", "FINISHED", "FINISHED", "MISSED", "STALE"]
    assert len(re.findall(r'<g class="mark missed"', svg)) == 1
    assert svg.count('tabindex="0"') == 6 and svg.count('class="label"') == 6
    assert 'aria-label="Runs of the last 24 hours on a time axis in UTC: 6 marks' in svg
    assert re.search(
        r"<title>#\d+ · FAILED · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · 2.0 s</title>", svg
    )
    # Hourly: 24 or 25 expected starts in 24 hours, each a tick.
    assert svg.count('<line class="expected"') in (24, 25)
    links = html.split('class="timeline-windows"')[1].split("</p>")[0]
    assert '<a href="?window=24h" aria-current="true" data-window="24h">24 hours</a>' in links
    assert '<a href="?window=7d" data-window="7d">7 days</a>' in links


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_hourly")
def test_seven_days_take_in_older_runs_and_the_links_keep_the_pages_options(admin_client):
    store_runs()
    html = admin_client.get("/monitor/commands/export/?window=7d&kiosk=1&page=1").content.decode()
    svg = svg_of(html)
    assert len(marks(svg)) == 7 and 'data-window="7d"' in svg
    assert "Runs of the last 7 days" in svg
    links = html.split('class="timeline-windows"')[1].split("</p>")[0]
    assert 'href="?kiosk=1&amp;page=1&amp;window=7d" aria-current="true"' in links
    assert 'href="?kiosk=1&amp;page=1&amp;window=24h" data-window="24h"' in links
    # An unknown window is the default one.
    html = admin_client.get("/monitor/commands/export/?window=1y").content.decode()
    assert 'data-window="24h"' in svg_of(html) and len(marks(svg_of(html))) == 6


@pytest.mark.django_db(transaction=True)
def test_an_every_minute_schedule_says_its_ticks_are_too_many(admin_client, settings):
    settings.MONITORKIT_SCHEDULES = {
        "scheduled_command": {"schedule": None},
        "export": {"schedule": "* * * * *"},
    }
    for minutes in (25 * 60, 3):
        store(make_record("export", started=utcnow() - dt.timedelta(minutes=minutes)), 1.0)
    html = admin_client.get("/monitor/commands/export/").content.decode()
    assert '<line class="expected"' not in svg_of(html)
    assert "More than 500 starts are expected in 24 hours: they are not drawn." in html
