"""What ran: the project's release and the versions of Python and Django, read once a process.

Stored with every record of every run (``RunRecord.release``), so a run's page and an alert can
say since which deploy a command fails. The release is ``MONITORKIT_RELEASE`` when it is set
(a string: a commit, a tag, the project's version), else the first of
``conf.RELEASE_VARIABLES`` set in the environment (what the usual platforms set to the deployed
commit), else unknown (``None``). Read once per process: a process runs one release, and a
record must not pay for the look-up again at each run of a long-lived process.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .conf import RELEASE, RELEASE_LIMIT, RELEASE_VARIABLES

#: This process's release and versions, once read (``process_release``).
_found: dict[str, Any] | None = None


def configured_release() -> str | None:
    """Return the release: the setting's, else the first environment variable's that is set."""
    release = RELEASE.value()
    if release is not None:
        return release
    for name in RELEASE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value[:RELEASE_LIMIT]
    return None


def process_release() -> dict[str, Any]:
    """Return ``{"release", "python", "django"}`` of this process (a copy of what was read)."""
    global _found
    if _found is None:
        import django

        _found = {
            "release": configured_release(),
            "python": sys.version.split()[0],
            "django": django.__version__,
        }
    return dict(_found)


def release_name(release: Any) -> str | None:
    """Return the release a record's ``release`` names (``None``: not known)."""
    if not isinstance(release, dict):
        return None
    name = release.get("release")
    return name if isinstance(name, str) and name else None


def release_words(release: Any) -> str | None:
    """Return what ran in words: ``abc123 (Python 3.11.7, Django 5.2.19)`` (``None``: nothing
    recorded); an unknown release is ``release unknown``."""
    if not isinstance(release, dict):
        return None
    versions = ", ".join(
        f"{label} {release[key]}"
        for key, label in (("python", "Python"), ("django", "Django"))
        if release.get(key)
    )
    name = release_name(release) or "release unknown"
    return f"{name} ({versions})" if versions else name
