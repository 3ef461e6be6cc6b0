"""Status badges for READMEs and wikis: ``badges/<token>/<command id>.svg`` and ``all.svg``.

No session: a badge is fetched by an image tag or shields.io. Its token
(``web/badge_tokens.py``; ``manage.py monitor_badge`` prints the URLs) is the credential, and a
wrong one answers 404, as an id that does not exist would, so a guess learns nothing about
which ids exist. ``MONITORKIT_BADGES_PUBLIC = True`` answers ``badges/<command id>.svg`` and
``badges/all.svg`` too. ``.json`` instead of ``.svg`` answers shields.io's endpoint schema.

Health changes at any time: every answer says ``no-cache`` (a proxy such as GitHub's image
cache asks again each time), and the SVG is served with a policy that runs nothing in it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from ...conf import monitor_settings
from ...healths import Health
from .. import badge_tokens
from ..badge import ALL_LABEL, Badge, of_all, of_command, unavailable
from ..badge_drawing import shields_json, svg
from .page import ReporterError, store

#: What every badge answer carries: fetch it anew each time, run nothing in it.
CACHE_CONTROL = "no-cache, max-age=0"
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def subject_of(path: str) -> str | None:
    """Return the subject a badge's path names (``badge_tokens``), ``None`` when none may see it.

    ``<token>/<name>``: the subject whose token it is, of the command id ``<name>`` or, for
    ``all``, of every command (the token tells which, so a command whose id is ``all`` has a
    badge too). Otherwise, when badges are public, ``<name>`` alone: ``all`` is every command.
    """
    given, slash, name = path.partition("/")
    if slash:
        candidates = [badge_tokens.command_subject(name)]
        if name == badge_tokens.ALL:
            candidates.insert(0, badge_tokens.ALL)
        for subject in candidates:
            if badge_tokens.matches(given, subject):
                return subject
    if monitor_settings.badges_public:
        return badge_tokens.ALL if path == badge_tokens.ALL else badge_tokens.command_subject(path)
    return None


def read_badge(subject: str) -> tuple[Badge, int]:
    """Return the subject's badge from the store, and the status to answer with."""
    from .. import dashboard  # when a badge is drawn, not with the URLconf (views/__init__.py)

    every = subject == badge_tokens.ALL
    label = ALL_LABEL if every else subject.removeprefix("command:")
    reporter = store()
    if reporter is None:
        return unavailable(label), 503
    try:
        if every:
            commands = dashboard.overview(reporter)["commands"]
            healths = [Health.of(command["health"]) for command in commands]
            return of_all(health for health in healths if health is not None), 200
        data = dashboard.command(reporter, label)
    except ReporterError:
        return unavailable(label), 503
    return of_command(label, None if data is None else Health.of(data["health"])), 200


@require_safe
def badge(request: HttpRequest, path: str, kind: str) -> HttpResponse:
    """One badge, as SVG (``kind`` ``svg``) or shields.io's JSON (``json``)."""
    subject = subject_of(path)
    if subject is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    found, status = read_badge(subject)
    if kind == "json":
        response: HttpResponse = JsonResponse(shields_json(found), status=status)
    else:
        response = HttpResponse(svg(found), status=status, content_type="image/svg+xml")
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = CACHE_CONTROL
    return response
