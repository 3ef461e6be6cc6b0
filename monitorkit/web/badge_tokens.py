"""The badges' tokens: an HMAC of what a badge shows, so a token needs no storage.

A badge's URL carries ``salted_hmac(SALT, subject)`` of its subject (``command:<id>`` or
``all``), made with the project's ``SECRET_KEY`` and cut to ``LENGTH`` hex digits (128 bits):
whoever holds one badge's URL can guess no other badge's, and nothing need be stored or
migrated to issue one. The subjects of a command id and of every command differ, so a command
whose id is ``all`` has a token of its own. A token made with a key of
``SECRET_KEY_FALLBACKS`` is still taken, so badges survive a key rotation as sessions do;
changing ``SECRET_KEY`` for good changes every badge's URL (the only way to revoke them).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

#: The HMAC's salt: a badge token is worth nothing anywhere else Django uses the key.
SALT = "monitorkit.web.badge_tokens"
#: Hex digits kept of the SHA-256 HMAC: 128 bits, short enough for a README.
LENGTH = 32
#: The subject of the badge of every command.
ALL = "all"


def command_subject(command_id: str) -> str:
    """Return the subject of one command id's badge (never equal to :data:`ALL`)."""
    return f"command:{command_id}"


def token(subject: str, secret: str | None = None) -> str:
    """Return the token of ``subject``'s badge, made with ``secret`` (``SECRET_KEY``)."""
    digest = salted_hmac(SALT, subject, secret=secret, algorithm="sha256").hexdigest()
    return digest[:LENGTH]


def matches(given: str, subject: str) -> bool:
    """Return whether ``given`` is the token of ``subject``, with the key or a fallback.

    Compared in constant time: how much of a guess is right cannot be timed.
    """
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    found = False
    for secret in secrets:
        found |= constant_time_compare(given, token(subject, secret))
    return found
