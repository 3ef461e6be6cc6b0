"""``MONITORKIT_MAINTENANCE``'s windows and their checks, and the durations a snooze takes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from monitorkit.health import maintenance
from monitorkit.snoozes import Snooze, parse_duration

UTC = dt.timezone.utc
WINDOW = {
    "match": "import_*",
    "cron": "0 2 * * 0",
    "duration": 7200,
    "timezone": "Europe/Paris",
    "reason": "weekly database upgrade",
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("90", 90), ("1.5h", 5400)],
)
def test_durations_with_units_or_seconds(text, seconds):
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "2 hours", "-1h", "0", "400d"])
def test_durations_that_are_not(text):
    with pytest.raises(ValueError, match=r"duration|at most"):
        parse_duration(text)


def test_a_window_is_a_snooze_from_its_start_in_its_zone_for_its_duration(settings):
    settings.MONITORKIT_MAINTENANCE = [WINDOW]
    # Sunday 2026-12-06, 02:00 in Paris is 01:00 UTC (winter time).
    start = dt.datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    assert maintenance.occurrences(start - dt.timedelta(seconds=1)) == []
    (during,) = maintenance.occurrences(start + dt.timedelta(minutes=90))
    assert (during.start, during.until) == (start, start + dt.timedelta(hours=2))
    assert (during.pattern, during.who, during.reason) == (
        "import_*",
        "MONITORKIT_MAINTENANCE",
        "weekly database upgrade",
    )
    assert during.id == maintenance.occurrences(start)[0].id  # one id for the occurrence
    assert during.id.startswith("maintenance-") and during.id.endswith("-20261206T010000Z")
    assert maintenance.occurrences(start + dt.timedelta(hours=2)) == []
    # Summer time: 02:00 in Paris is 00:00 UTC.
    (summer,) = maintenance.occurrences(dt.datetime(2026, 6, 7, 0, 30, tzinfo=UTC))
    assert summer.start == dt.datetime(2026, 6, 7, 0, 0, tzinfo=UTC)


def test_a_snooze_matches_by_pattern_and_case():
    at = dt.datetime(2026, 12, 6, tzinfo=UTC)
    snooze = Snooze("s", "import_*", "", "", at, at + dt.timedelta(hours=1))
    assert snooze.matches("import_orders") and not snooze.matches("Import_orders")
    assert not snooze.matches("export_orders")


def test_bad_windows_are_warned_about_with_ids_and_hints_and_left_out(settings):
    settings.MONITORKIT_MAINTENANCE = [
        WINDOW,
        "import_*",
        {**WINDOW, "cron": "every sunday"},
        {**WINDOW, "duration": 0, "when": 1},
        {**WINDOW, "timezone": "Mars/Olympus"},
        {"cron": "0 2 * * 0", "duration": 60},
    ]
    found = {(p.id, p.msg) for p in maintenance.problems()}
    assert [p.id for p in maintenance.problems()] == [
        "monitorkit.W302",
        "monitorkit.W303",
        "monitorkit.W302",
        "monitorkit.W304",
        "monitorkit.W305",
        "monitorkit.W302",
    ]
    assert ("monitorkit.W302", "MONITORKIT_MAINTENANCE[1] must be a dict, not 'import_*'.") in found
    assert len(maintenance.windows()) == 1
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    text = out.getvalue()
    for check_id in ("W302", "W303", "W304", "W305"):
        assert f"monitorkit.{check_id}" in text
    assert "HINT: Use five cron fields" in text


def test_a_value_that_is_not_a_list_is_warned_about(settings):
    settings.MONITORKIT_MAINTENANCE = {"match": "import_*"}
    (problem,) = maintenance.problems()
    assert problem.id == "monitorkit.W301" and "must be a list of dicts" in problem.msg
    assert maintenance.windows() == []
