"""Who may look: staff with ``monitorkit.view_commandrun`` (superusers have it).

Anonymous visitors are sent to ``settings.LOGIN_URL`` and come back after signing in; a
signed-in user without the permission gets a 403 (a redirect to the login page would loop).
The metrics endpoint does not use this: it takes a bearer token (``views/metrics.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

PERMISSION = "monitorkit.view_commandrun"

View = Callable[..., HttpResponse]


def can_view(user: Any) -> bool:
    """Return whether ``user`` may see the status page and its JSON."""
    return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))


def monitor_view(view: View) -> View:
    """Let staff with the permission in; send others to log in (or refuse them). Never cached.

    Only GET and HEAD are answered (405 to anything else, before asking who it is): the page
    and its JSON only read.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_view(user):
            raise PermissionDenied("Viewing command runs needs the view_commandrun permission.")
        return view(request, *args, **kwargs)

    return never_cache(require_safe(guarded))
