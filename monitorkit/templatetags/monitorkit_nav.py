"""The account links of the page's navigation: who is signed in, the admin, log out.

A tag rather than context from each view: every page (the overview, a command's page, the
unavailable and forbidden pages) extends ``base.html`` and gets them without its view knowing.
Nothing but Django's template and URL modules is imported with the library (see the tag).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

register = template.Library()


@register.inclusion_tag("monitorkit/_account.html", takes_context=True)
def monitorkit_account(context: template.Context) -> dict[str, Any]:
    """Return what ``_account.html`` shows: the admin's index for staff, and where to post to
    log out, coming back to the overview (which then asks to sign in again)."""
    # Imported when a page is drawn: Django's template checks import every tag library before
    # every management command, and the access module brings Django's auth views with it.
    from ..web.views.access import admin_url, logout_url

    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"user": user}
    return {
        "user": user,
        "admin_url": admin_url("index") if user.is_staff else None,
        "logout_url": logout_url(user),
        "after_logout": reverse("monitorkit:overview"),
    }
