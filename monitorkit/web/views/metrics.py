"""The Prometheus endpoint: a bearer token from ``MONITORKIT_METRICS_TOKEN``, not a session.

No token configured: 404, as if the endpoint did not exist. A missing token: 401; a wrong one:
403. The comparison takes the same time however much of the token is right.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ...conf import monitor_settings
from .page import ReporterError, store


def _token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Every command id's metrics, in the format the scraper asks for."""
    from .. import metrics as exposition  # when scraped, not with the URLconf

    expected = monitor_settings.metrics_token
    if expected is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    given = _token(request)
    if given is None:
        response = HttpResponse("A bearer token is needed.", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="monitorkit"'
        return response
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return HttpResponse("Wrong token.", status=403, content_type="text/plain")
    if not exposition.available():
        return HttpResponse(exposition.MISSING, status=501, content_type="text/plain")
    reporter = store()
    if reporter is None:
        return HttpResponse("No store is configured.", status=503, content_type="text/plain")
    try:
        body, content_type = exposition.exposition(reporter, request.headers.get("Accept", ""))
    except ReporterError as err:
        text = f"{reporter.describe()} could not be read: {err}"
        return HttpResponse(text, status=503, content_type="text/plain")
    return HttpResponse(body, content_type=content_type)
