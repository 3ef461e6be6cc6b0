"""The command page's snooze and end-snooze buttons: one POST form each (``access.snooze_action``).

A snooze set here holds the alerts of this command id alone (its id as an exact pattern), for
the duration asked, recorded with the signed-in user and the reason given; the watcher does the
rest (``monitorkit/health/silence.py``). Ending one brings its end to now. Both answer with a
redirect to the command page (post, redirect, get), where the snooze shows.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse

from .access import snooze_action
from .page import ReporterError, store, unavailable

#: The durations the form offers (its select), as ``parse_duration`` reads them.
DURATIONS = (
    ("30m", "30 minutes"),
    ("1h", "1 hour"),
    ("2h", "2 hours"),
    ("8h", "8 hours"),
    ("1d", "1 day"),
    ("1w", "1 week"),
)
#: The longest reason kept (a sentence or two; the page and every summary show it).
REASON_CHARS = 500


@snooze_action
def snooze_command(request: HttpRequest, command_id: str) -> HttpResponse:
    """Snooze this command id (``action=snooze``, ``duration``, ``reason``) or end one of its
    snoozes (``action=end``, ``snooze``: its id)."""
    from ...record import utcnow
    from ...snoozes import exact_pattern, new_snooze, parse_duration

    reporter = store()
    health = reporter.health_store() if reporter is not None else None
    if reporter is None or health is None:
        return unavailable(request, "No store is configured.", {"command_id": command_id})
    now = utcnow()
    try:
        if request.POST.get("action") == "end":
            snooze_id = request.POST.get("snooze", "")
            found = [s for s in health.snoozes() if s.id == snooze_id]
            if not found or not found[0].matches(command_id):
                return HttpResponseBadRequest("No such snooze of this command.")
            health.end_snooze(snooze_id, now)
        else:
            try:
                duration = parse_duration(request.POST.get("duration", ""))
            except ValueError as err:
                return HttpResponseBadRequest(f"duration: {err}")
            reason = " ".join(request.POST.get("reason", "").split())[:REASON_CHARS]
            who = request.user.get_username()
            snooze = new_snooze(exact_pattern(command_id), reason, who, now, now + duration)
            health.add_snooze(snooze)
    except ReporterError as err:
        why = f"{reporter.describe()} could not be written: {err}"
        return unavailable(request, why, {"command_id": command_id})
    return HttpResponseRedirect(reverse("monitorkit:command", args=[command_id]) + "#snooze")
