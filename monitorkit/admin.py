"""The runs in the Django admin: read-only, newest first, filterable by status."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import CommandRun


@admin.register(CommandRun)
class CommandRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("command_id", "seq", "status", "started", "duration", "latest", "host", "pid")
    list_filter = ("status", "name", "host")
    search_fields = ("command_id", "message", "exception_type", "run_id")
    date_hierarchy = "started"
    ordering = ("-started",)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False
