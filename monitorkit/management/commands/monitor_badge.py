"""``manage.py monitor_badge <command id> ... | --all``: the URLs of status badges, to paste.

A badge's token is an HMAC of its subject (``web/badge_tokens.py``): nothing is stored, the
same command prints the same URLs each time, and they change only with ``SECRET_KEY``. The
paths come from the project's URLconf (where the status page is mounted); with
``MONITORKIT_BASE_URL`` set, whole URLs, a shields.io URL and a Markdown line are printed too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from ...conf import BASE_URL
from ...web import badge_tokens
from ...web.badge import ALL_LABEL

#: shields.io's endpoint badge, drawn from a badge's JSON.
SHIELDS_ENDPOINT = "https://img.shields.io/endpoint?url="


def badge_path(subject: str, name: str, kind: str) -> str:
    """Return the path of ``subject``'s badge named ``name`` (``all`` or the command id)."""
    path = f"{badge_tokens.token(subject)}/{name}"
    return reverse("monitorkit:badge", kwargs={"path": path, "kind": kind})


def under_base(path: str, base: str | None) -> str:
    """Return ``path`` (from the URLconf's root) under ``MONITORKIT_BASE_URL``, where the status
    page is mounted: ``/monitor/badges/...`` and ``https://x.org/monitor`` give
    ``https://x.org/monitor/badges/...``. Without a base: the path itself."""
    if base is None:
        return path
    mount = reverse("monitorkit:overview")  # "/monitor/": the page's own root
    return f"{base.rstrip('/')}/{path.removeprefix(mount)}"


class Command(BaseCommand):
    help = (
        "Print the URLs of status badges (SVG and shields.io JSON) of command ids or of every "
        "command, each with its unguessable token, to paste in a README or a wiki."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("command_ids", nargs="*", metavar="command_id", help="A command id.")
        parser.add_argument("--all", action="store_true", help="The badge of every command.")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = [(badge_tokens.ALL, badge_tokens.ALL, ALL_LABEL)] if options["all"] else []
        wanted += [
            (badge_tokens.command_subject(command_id), command_id, command_id)
            for command_id in options["command_ids"]
        ]
        if not wanted:
            raise CommandError("Name a command id, or give --all for the badge of every command.")
        base = BASE_URL.value()
        try:
            for subject, name, label in wanted:
                self.show(label, name, subject, base)
        except NoReverseMatch:
            raise CommandError(
                'The status page is not mounted: add path("monitor/", include("monitorkit.urls")) '
                "to the project's urls.py."
            ) from None
        if base is None:
            self.stderr.write(
                "These are paths under the project's root: set MONITORKIT_BASE_URL to where the "
                "status page is served to print whole URLs."
            )

    def show(self, label: str, name: str, subject: str, base: str | None) -> None:
        """Print one badge's URLs: SVG, JSON and, with a base URL, shields.io and Markdown."""
        image = under_base(badge_path(subject, name, "svg"), base)
        data = under_base(badge_path(subject, name, "json"), base)
        self.stdout.write(f"{label}")
        self.stdout.write(f"  svg:      {image}")
        self.stdout.write(f"  json:     {data}")
        if base is not None:
            self.stdout.write(f"  shields:  {SHIELDS_ENDPOINT}{quote(data, safe='')}")
            text = label.replace("[", "\\[").replace("]", "\\]")
            link = image.replace("(", "%28").replace(")", "%29")
            self.stdout.write(f"  markdown: ![{text}]({link})")
