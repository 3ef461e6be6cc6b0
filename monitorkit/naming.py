"""Command ids, names and params: how ``manage.py test_command --verbosity=2`` becomes
``test_command__verbosity_2``.

Every id this module returns is a valid Firebase key whatever the input: no ``. $ # [ ] /``, no
control characters, never empty, at most 768 bytes of UTF-8 (longer ids are cut and given a hash
suffix, so two long ids that differ only at the end stay apart). Values of options whose names
look sensitive (Django's own pattern for hiding settings) never leave this module in clear.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

MAX_KEY_BYTES = 768
MASK = "********"
#: Options that say how Django runs a command, not what the command does.
IGNORED_OPTIONS = frozenset(
    {
        "settings",
        "pythonpath",
        "traceback",
        "no_color",
        "force_color",
        "skip_checks",
        "disable_monitor",
        "help",
        "args",
        "stdout",
        "stderr",
    }
)
_FORBIDDEN = re.compile(r"[.$#\[\]/\x00-\x1f\x7f\s]+")  # what ids replace (spaces too)
_FORBIDDEN_IN_KEY = re.compile(r"[.$#\[\]/\x00-\x1f\x7f]")  # what Firebase refuses
_HASH_LEN = 16


def is_sensitive(name: str) -> bool:
    """Return whether an option's name looks like it holds a credential."""
    return bool(SafeExceptionReporterFilter.hidden_settings.search(name))


def format_value(value: Any) -> str:
    """Return an option value as text: lists space separated, everything else ``str``."""
    if isinstance(value, (list, tuple)):
        return " ".join(format_value(v) for v in value)
    return str(value)


def explicit_options(
    options: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> list[tuple[str, Any]]:
    """Return the options that say what this run does, in a stable order.

    An option left at its parser default is not part of the id (``--verbosity=1`` and no
    option at all are the same run), nor are Django's own plumbing options. The order is the
    parser's (``defaults``' order), then alphabetical: ``manage.py`` and ``call_command`` hand
    the same options over in different orders, and must give the same id.
    """
    defaults = defaults or {}
    position = {name: index for index, name in enumerate(defaults)}
    chosen = []
    for name, value in options.items():
        if name in IGNORED_OPTIONS or value is None:
            continue
        if defaults and (name not in defaults or defaults[name] == value):
            continue  # not a parser option (call_command's stdout=...), or left at default
        chosen.append((name, value))
    return sorted(chosen, key=lambda item: (position.get(item[0], len(position)), item[0]))


def format_params(options: Iterable[tuple[str, Any]], args: Iterable[Any] = ()) -> str:
    """Return params as users read them: ``verbosity=2,limit=10``; secrets masked."""
    parts = [format_value(a) for a in args]
    for name, value in options:
        parts.append(f"{name}={MASK if is_sensitive(name) else format_value(value)}")
    return ",".join(parts)


def is_valid_key(key: str) -> bool:
    """Return whether ``key`` is a valid Firebase key as it is."""
    return (
        bool(key)
        and not _FORBIDDEN_IN_KEY.search(key)
        and (len(key.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES)
    )


def sanitize_key(text: str, fallback: str = "command") -> str:
    """Return ``text`` made into a valid Firebase key (see the module docstring)."""
    key = _FORBIDDEN.sub("_", text)
    if not key.strip("_"):
        key = fallback
    return shorten_key(key, original=text)


def shorten_key(key: str, original: str | None = None) -> str:
    """Cut a key to the byte limit, ending it with a hash of the whole original text."""
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256((original or key).encode("utf-8", "surrogatepass")).hexdigest()
    suffix = "~" + digest[:_HASH_LEN]
    budget = MAX_KEY_BYTES - len(suffix)
    cut = key.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut + suffix


def command_id(name: str, options: Iterable[tuple[str, Any]], args: Iterable[Any] = ()) -> str:
    """Return the command id: the name, then ``__option_value`` for each explicit option.

    Sensitive options are left out of the id entirely, so runs that differ only by a token
    share one history.
    """
    parts = [name]
    parts += [format_value(a) for a in args]
    parts += [f"{n}_{format_value(v)}" for n, v in options if not is_sensitive(n)]
    raw = "__".join(parts)
    return sanitize_key(raw)


def secret_values(options: Mapping[str, Any]) -> list[str]:
    """Return the values of sensitive options, longest first, for scrubbing free text."""
    values = {
        format_value(v)
        for n, v in options.items()
        if is_sensitive(n) and v not in (None, "", False, True)
    }
    return sorted((v for v in values if v), key=len, reverse=True)


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """Return ``text`` with every secret value replaced by a mask."""
    if not text:
        return text
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text
