"""The status page: ``path("monitor/", include("monitorkit.urls"))`` mounts it.

Each view is named by its dotted path (:class:`~monitorkit.web.views.lazy.LazyView`): Django's
system checks import this URLconf before every management command, and the view modules are
then imported only by the first request that needs them.
"""

from __future__ import annotations

from django.urls import path, re_path

from .web.views.lazy import LazyView

app_name = "monitorkit"
VIEWS = "monitorkit.web.views."

urlpatterns = [
    path("", LazyView(VIEWS + "overview.overview"), name="overview"),
    # Before the command page: a command id may itself hold "/runs/".
    path(
        "commands/<path:command_id>/runs/<str:run_id>/",
        LazyView(VIEWS + "command.run_page"),
        name="run",
    ),
    path("commands/<path:command_id>/", LazyView(VIEWS + "command.command_page"), name="command"),
    # POST only; csrf_exempt on the real view (it checks the token itself) is read through.
    path("snoozes/<path:command_id>/", LazyView(VIEWS + "snooze.snooze_command"), name="snooze"),
    path("api/overview.json", LazyView(VIEWS + "api.overview_json"), name="api-overview"),
    path(
        "api/commands/<path:command_id>/runs/<str:run_id>.json",
        LazyView(VIEWS + "api.run_json"),
        name="api-run",
    ),
    path(
        "api/commands/<path:command_id>.json",
        LazyView(VIEWS + "api.command_json"),
        name="api-command",
    ),
    path("metrics", LazyView(VIEWS + "metrics.metrics"), name="metrics"),
    # <token>/<command id>, <token>/all, or (MONITORKIT_BADGES_PUBLIC) the name alone.
    re_path(
        r"^badges/(?P<path>.+)\.(?P<kind>svg|json)$",
        LazyView(VIEWS + "badges.badge"),
        name="badge",
    ),
]
