"""Command ids, names and params: how ``manage.py test_command --verbosity=2`` becomes
``test_command__verbosity_2``.

Every id this module returns is a valid Firebase key whatever the input: no ``. $ # [ ] /``, no
control characters, never empty, at most 768 bytes of UTF-8 (longer ids are cut and given a hash
suffix, so two long ids that differ only at the end stay apart), no byte UTF-8 cannot encode.
Values of sensitive options (see ``is_sensitive``) never leave this module in clear, nor does any
secret shape of ``monitorkit/redaction.py`` in a positional argument. What makes any value
storable is ``cleaning.py``; what masks a secret in free text is ``redaction.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from .cleaning import MAX_KEY_BYTES, is_valid_key, safe_str, shorten_key, storable_text
from .redaction import MASK, LazyPattern, is_sensitive_name, mask_shapes, redact, url_passwords

__all__ = [
    "MASK",
    "MAX_KEY_BYTES",
    "command_id",
    "explicit_options",
    "format_params",
    "format_value",
    "is_sensitive",
    "is_valid_key",
    "sanitize_key",
    "secret_values",
    "shorten_key",
]
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
_FORBIDDEN = LazyPattern(r"[.$#\[\]/\x00-\x1f\x7f\s]+")  # what ids replace (spaces too)
#: The printable ASCII characters ``_FORBIDDEN`` matches: an id without them (and without
#: control characters, non-ASCII or other blanks) needs no pattern at all.
_FORBIDDEN_PRINTABLE = frozenset(".$#[]/ ")
_WILDCARDS = frozenset("*?[")


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    """Return whether ``name`` matches one of ``patterns`` (``fnmatch``'s, case-sensitive).

    A pattern without a wildcard is compared as it is: ``fnmatch`` compiles each pattern to a
    regular expression, which a command's start should not pay for a list of plain names
    (``ALWAYS_OUTPUT_TAIL_EXCLUDE``, most ``MONITORKIT_AUTO`` lists).
    """
    for pattern in patterns:
        if _WILDCARDS.isdisjoint(pattern):
            if name == pattern:
                return True
        else:
            from fnmatch import fnmatchcase

            if fnmatchcase(name, pattern):
                return True
    return False


def is_sensitive(name: str, value: Any = None) -> bool:
    """Return whether an option holds a credential: by its name, or by what its value holds.

    The name rule is ``monitorkit.redaction.SENSITIVE_NAME`` (Django's for hiding settings,
    ``API``, ``TOKEN``, ``KEY``, ``PASS``..., plus ``PWD``, ``BEARER``, ``COOKIE``,
    ``SESSION``, ``PRIVATE``, ``CREDENTIAL``, ``DSN``, ``AUTH``); a value holding a secret
    shape (a URL with a password, ``password=...``, a token) counts too, whatever the option
    is called (``--database-url``, ``--source``, ``--header``).
    """
    if is_sensitive_name(name):
        return True
    if value is None:
        return False
    text = format_value(value)
    return mask_shapes(text) != text


#: What an option value whose ``str()`` raises is written as (never the run lost for it).
UNPRINTABLE_VALUE = "<unprintable {} object>"


def format_value(value: Any) -> str:
    """Return an option value as text: lists space separated, everything else ``str``.

    A value whose ``str()`` raises (or returns no string) is written as a placeholder.
    """
    if isinstance(value, (list, tuple)):
        return " ".join(format_value(v) for v in value)
    text = safe_str(value)
    return UNPRINTABLE_VALUE.format(type(value).__name__) if text is None else text


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
    parts = [redact(format_value(a)) for a in args]
    for name, value in options:
        parts.append(f"{name}={MASK if is_sensitive(name, value) else format_value(value)}")
    return ",".join(parts)


def sanitize_key(text: str, fallback: str = "command") -> str:
    """Return ``text`` made into a valid Firebase key (see the module docstring).

    A byte of argv that is not UTF-8 arrives as a lone surrogate (``'\\udcff'``); it becomes
    U+FFFD like a NUL would, since no store can encode it.
    """
    if text.isascii() and text.isprintable() and _FORBIDDEN_PRINTABLE.isdisjoint(text):
        key = text  # the usual id: nothing to replace, nothing unstorable
    else:
        key = storable_text(_FORBIDDEN().sub("_", text))
    if not key.strip("_"):
        key = fallback
    return shorten_key(key, original=text)


def command_id(name: str, options: Iterable[tuple[str, Any]], args: Iterable[Any] = ()) -> str:
    """Return the command id: the name, then ``__option_value`` for each explicit option.

    Sensitive options are left out of the id entirely, so runs that differ only by a token
    share one history.
    """
    parts = [name]
    parts += [redact(format_value(a)) for a in args]
    parts += [f"{n}_{format_value(v)}" for n, v in options if not is_sensitive(n, v)]
    raw = "__".join(parts)
    return sanitize_key(raw)


def secret_values(options: Mapping[str, Any]) -> list[str]:
    """Return what to scrub from free text, longest first.

    That is the value of every sensitive option, and the password of every URL in any option
    (raw and percent-decoded: ``p%40ss`` is ``p@ss`` once a library has parsed the URL). The
    redactor leaves out of free text those shorter than ``MIN_FREE_TEXT_SECRET``.
    """
    values: set[str] = set()
    for name, value in options.items():
        if value is None or isinstance(value, bool) or (isinstance(value, str) and not value):
            continue
        text = format_value(value)
        if is_sensitive(name, value):
            values.add(text)
            if isinstance(value, (list, tuple)):  # each item may be printed on its own
                values |= {format_value(item) for item in value}
        for password in url_passwords(text):
            values |= {password, unquote(password)}
    return sorted((v for v in values if v), key=len, reverse=True)
