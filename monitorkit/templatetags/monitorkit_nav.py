"""The account links of the page's navigation: who is signed in, the admin, log out.

A tag rather than context from each view: every page (the overview, a command's page, the
unavailable and forbidden pages) extends ``base.html`` and gets them without its view knowing.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from ..web.views.access import admin_url, logout_url

register = template.Library()


@register.inclusion_tag("monitorkit/_account.html", takes_context=True)
def monitorkit_account(context: template.Context) -> dict[str, Any]:
    """Return what ``_account.html`` shows: the admin's index for staff, and where to post to
    log out, coming back to the overview (which then asks to sign in again)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"user": user}
    return {
        "user": user,
        "admin_url": admin_url("index") if user.is_staff else None,
        "logout_url": logout_url(user),
        "after_logout": reverse("monitorkit:overview"),
    }
