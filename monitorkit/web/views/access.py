"""Who may look: staff with ``monitorkit.view_commandrun`` (superusers have it).

Anonymous visitors of a page are sent to the login page (``login_url``) and come back after
signing in; a signed-in user without the permission gets a 403 page that says who is signed in
and what is missing (a redirect to the login page would loop). The JSON endpoints answer the same
refusals in JSON (401, 403): a script or ``live.js`` reading them gets something it can parse, not
a login form. The metrics endpoint does not use this: it takes a bearer token
(``views/metrics.py``).

Snoozing a command's alerts from its page (``views/snooze.py``) changes something, so it asks
more: the page's permission and ``monitorkit.snooze_command``, a POST, and Django's CSRF token
(checked by the view itself, whatever the project's middleware).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.apps import apps
from django.conf import global_settings, settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

PERMISSION = "monitorkit.view_commandrun"
#: Who may snooze a command's alerts, and end a snooze, on its page (besides ``PERMISSION``).
SNOOZE_PERMISSION = "monitorkit.snooze_command"

View = Callable[..., HttpResponse]


def can_view(user: Any) -> bool:
    """Return whether ``user`` may see the status page and its JSON."""
    return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))


def can_snooze(user: Any) -> bool:
    """Return whether ``user`` may snooze a command's alerts from its page."""
    return can_view(user) and bool(user.has_perm(SNOOZE_PERMISSION))


def admin_url(name: str) -> str | None:
    """Return the URL of the admin's view ``name`` (``index``, ``login``, ``logout``), or
    ``None`` when the admin is not installed or not mounted: links to it are then left out."""
    if not apps.is_installed("django.contrib.admin"):
        return None
    try:
        return reverse(f"admin:{name}")
    except NoReverseMatch:
        return None


def _resolves(url: str) -> bool:
    try:
        resolve(url)
    except Resolver404:
        return False
    return True


def login_url() -> str:
    """Return the login page anonymous visitors are sent to.

    ``settings.LOGIN_URL``, unless the project left it at Django's default
    (``/accounts/login/``) and nothing answers there while the admin is mounted: a fresh
    ``startproject`` project is like that, and sending its users to a 404 helps nobody, so they
    go to the admin's login instead. Worked out for each anonymous request (one ``resolve``).
    """
    configured = str(settings.LOGIN_URL)
    if configured != global_settings.LOGIN_URL or _resolves(configured):
        return resolve_url(settings.LOGIN_URL)
    return admin_url("login") or configured


def logout_url(user: Any) -> str | None:
    """Return where the log-out form posts, or ``None`` when there is nowhere it works.

    The project's own ``logout`` (``django.contrib.auth.urls`` names it so) logs anyone out;
    the admin's logs out staff only (it sends others to its index). Both are Django's
    ``LogoutView``: POST only since Django 5, and they honour ``next``.
    """
    try:
        return reverse("logout")
    except NoReverseMatch:
        pass
    return admin_url("logout") if user.is_staff else None


def forbidden_page(
    request: HttpRequest, permission: str = PERMISSION, doing: str = "see the command runs"
) -> HttpResponse:
    """Answer 403 with a page that says who is signed in and what permission is missing."""
    context = {
        "permission": permission,
        "doing": doing,
        "login_again_url": redirect_to_login(request.get_full_path(), login_url())["Location"],
    }
    return TemplateResponse(request, "monitorkit/forbidden.html", context, status=403)


def _guard(view: View, anonymous: View, forbidden: View) -> View:
    """Wrap ``view``: staff with the permission in, others answered by ``anonymous`` or
    ``forbidden``. Never cached; GET and HEAD only (405 to anything else, before asking who it
    is): the page and its JSON only read."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return anonymous(request)
        if not can_view(user):
            return forbidden(request)
        return view(request, *args, **kwargs)

    return never_cache(require_safe(guarded))


def _send_to_login(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(request.get_full_path(), login_url())


def monitor_view(view: View) -> View:
    """Guard a page: anonymous visitors are sent to log in, others refused with a 403 page."""
    return _guard(view, _send_to_login, forbidden_page)


def _json_unauthenticated(request: HttpRequest) -> HttpResponse:
    page = reverse("monitorkit:overview")
    where = redirect_to_login(page, login_url())["Location"]
    return JsonResponse({"error": "authentication required", "login_url": where}, status=401)


def _json_forbidden(request: HttpRequest) -> HttpResponse:
    who = request.user.get_username()
    why = f"{who} may not read command runs: that needs staff status and {PERMISSION}"
    return JsonResponse({"error": why, "permission": PERMISSION}, status=403)


def monitor_json(view: View) -> View:
    """Guard a JSON endpoint: 401 and 403 answered in JSON, never a login page or HTML."""
    return _guard(view, _json_unauthenticated, _json_forbidden)


def snooze_action(view: View) -> View:
    """Guard a POST that snoozes: anonymous visitors are sent to log in, users without
    :data:`SNOOZE_PERMISSION` (or the page's) refused with the 403 page, and only then the
    CSRF token checked, here, so a project without ``CsrfViewMiddleware`` is protected too.
    POST only (405 to anything else, before asking who it is)."""
    from django.views.decorators.csrf import csrf_exempt, csrf_protect
    from django.views.decorators.http import require_POST

    protected = csrf_protect(view)  # the check itself, with or without the middleware

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:  # back to the command's page once signed in
            page = reverse("monitorkit:command", args=[kwargs["command_id"]])
            return redirect_to_login(page, login_url())
        if not can_snooze(user):
            return forbidden_page(request, SNOOZE_PERMISSION, "snooze a command's alerts")
        return protected(request, *args, **kwargs)

    # Exempt from the middleware only so that its check comes after the door (an anonymous
    # visitor is sent to log in, not shown a CSRF failure); ``protected`` checks every POST.
    return csrf_exempt(never_cache(require_POST(guarded)))
