"""The status page: ``path("monitor/", include("monitorkit.urls"))`` mounts it."""

from __future__ import annotations

from django.urls import path, re_path

from .web.views import api, badges, command, metrics, overview, snooze

app_name = "monitorkit"

urlpatterns = [
    path("", overview.overview, name="overview"),
    # Before the command page: a command id may itself hold "/runs/".
    path("commands/<path:command_id>/runs/<str:run_id>/", command.run_page, name="run"),
    path("commands/<path:command_id>/", command.command_page, name="command"),
    path("snoozes/<path:command_id>/", snooze.snooze_command, name="snooze"),  # POST only
    path("api/overview.json", api.overview_json, name="api-overview"),
    path("api/commands/<path:command_id>/runs/<str:run_id>.json", api.run_json, name="api-run"),
    path("api/commands/<path:command_id>.json", api.command_json, name="api-command"),
    path("metrics", metrics.metrics, name="metrics"),
    # <token>/<command id>, <token>/all, or (MONITORKIT_BADGES_PUBLIC) the name alone.
    re_path(r"^badges/(?P<path>.+)\.(?P<kind>svg|json)$", badges.badge, name="badge"),
]
