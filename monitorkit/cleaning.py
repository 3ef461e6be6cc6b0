"""Make what a run stores safe for every store, in one pass, and say once what was replaced.

Odd but legal values reach a record: NaN or ``Decimal`` progress, metadata with a tuple key, a
cycle or 600 levels of nesting, a byte of argv that is not UTF-8 (Python hands it over as a lone
surrogate such as ``'\\udcff'``), a NUL in an exception's message, an exception class name longer
than a column. Each store refuses some of them: SQLite's and PostgreSQL's JSON columns refuse
NaN, PostgreSQL refuses NUL in text and jsonb and longer strings than ``max_length``, UTF-8
encoding refuses lone surrogates, Firebase refuses keys with ``. $ # [ ] /`` and trees deeper
than 32 levels. A refused write used to cost the whole run, or leave it ``STARTED`` for ever.

Here every such value becomes one that every store takes (the rules are listed in
``docs/records.md``), and secrets are masked in the same pass by the one redactor
(``monitorkit/redaction.py``): the run's own, in every spelling, and every known shape. A
run's :class:`Cleaner` logs one line on the ``monitorkit`` logger for each new kind of
replacement, never the replaced value itself.
Plain values in, plain values out: no Django here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from .redaction import LazyPattern, redact

logger = logging.getLogger("monitorkit")

REPLACEMENT = "\ufffd"
MAX_KEY_BYTES = 768
#: Levels of metadata kept. The record sits five levels down in Firebase
#: (``<key>/commands/<id>/log/<slot>/metadata``), which allows 32 in all: 20 leaves room for a
#: ``FIREBASE_MONITORING_KEY`` of a few levels.
MAX_DEPTH = 20
#: Values (containers and leaves) kept in one metadata pass: metadata is a few fields, not a dump.
MAX_VALUES = 10_000
#: ``max_length`` of the database's ``CharField`` columns (name, host, exception_type).
NAME_LIMIT = 255
#: A message is what a person reads in one line of ``monitor_status``; the traceback has the rest.
MESSAGE_LIMIT = 2000
CIRCULAR = "<circular reference>"
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels>"
TOO_MANY = f"<more than {MAX_VALUES} values>"
UNPRINTABLE_EXCEPTION = "<exception str() failed>"  # Python's own words for it in a traceback
NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}

# Compiled on first use: a character class with the surrogate range takes about 0.3 ms to
# compile, and most runs store only ASCII text (``storable_text`` needs no pattern for it).
_UNSTORABLE = LazyPattern("[\x00\ud800-\udfff]")  # NUL (PostgreSQL), lone surrogates (UTF-8)
#: The printable ASCII characters a Firebase key may not hold. With the control characters
#: (which ``str.isprintable`` refuses in ASCII) and lone surrogates they make the key pattern.
_FORBIDDEN_ASCII = ".$#[]/"
_FORBIDDEN_IN_KEY = LazyPattern(rf"[{re.escape(_FORBIDDEN_ASCII)}\x00-\x1f\x7f\ud800-\udfff]")
_HASH_LEN = 16
_MAX_NOTES = 8


# --- text -------------------------------------------------------------------------------------


def storable_text(text: str) -> str:
    """Return ``text`` with NUL and lone surrogates (no store takes them) replaced by U+FFFD."""
    if text.isascii():  # no surrogate in it: only a NUL can be wrong
        return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
    return _UNSTORABLE().sub(REPLACEMENT, text)


def safe_str(value: Any) -> str | None:
    """Return ``str(value)``, or ``None`` when its ``__str__`` raises (or returns no string)."""
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - any failure of user code means "no text"
        return None
    return str.__str__(text) if isinstance(text, str) else None


def error_message(error: BaseException) -> str:
    """Return an exception's message for a record: its text, or its class name when empty.

    An exception whose ``__str__`` raises gets Python's own words for it, and one log line.
    """
    text = safe_str(error)
    if text is None:
        logger.warning(
            "monitorkit: str() of the %s that ended the run raised; its message is stored as %r",
            type(error).__name__,
            UNPRINTABLE_EXCEPTION,
        )
        return UNPRINTABLE_EXCEPTION
    return text or type(error).__name__


# --- keys ---------------------------------------------------------------------------------------


def is_valid_key(key: str) -> bool:
    """Return whether ``key`` is a valid Firebase key (and storable text) as it is.

    An ASCII key (almost every command id) is judged without the pattern: compiling its class
    with the surrogate range cost every monitored run's start 0.3-0.6 ms. In ASCII,
    ``isprintable`` is false exactly for the control characters the pattern forbids (``\x00``
    to ``\x1f`` and ``\x7f``).
    """
    if not key:
        return False
    if key.isascii():
        return (
            key.isprintable()
            and not any(c in key for c in _FORBIDDEN_ASCII)
            and len(key) <= MAX_KEY_BYTES
        )
    return not _FORBIDDEN_IN_KEY().search(key) and len(key.encode("utf-8")) <= MAX_KEY_BYTES


def shorten_key(key: str, original: str | None = None) -> str:
    """Cut a key to the byte limit, ending it with a hash of the whole original text."""
    key = storable_text(key)
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256((original or key).encode("utf-8", "surrogatepass")).hexdigest()
    return _suffixed(key, "~" + digest[:_HASH_LEN])


def _suffixed(key: str, suffix: str) -> str:
    """Return ``key`` ending with ``suffix``, cut on a character boundary to fit the limit."""
    budget = MAX_KEY_BYTES - len(suffix.encode("utf-8"))
    return key.encode("utf-8")[:budget].decode("utf-8", "ignore") + suffix


def storable_key(text: str, fallback: str = "key") -> str:
    """Return ``text`` made a valid key: each forbidden character becomes ``_``."""
    key = _FORBIDDEN_IN_KEY().sub("_", text) or fallback
    return shorten_key(key, original=text)


# --- values -------------------------------------------------------------------------------------


class _Pass:
    """One cleaning pass: the secrets, what it replaced, and where it is in the tree.

    A plain slotted class rather than a dataclass: every monitored command imports this module,
    and a dataclass compiles its generated methods at import (about 0.5 ms on Python 3.11).
    """

    __slots__ = ("active", "count", "notes", "secrets")

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.notes: list[str] = []
        self.active: set[int] = set()
        self.count = 0

    def note(self, path: str, what: str) -> None:
        if len(path) > 100:  # 20 levels of keys say less than the first and the last few
            path = path[:60] + "\u2026" + path[-39:]
        self.notes.append(f"{path}: {what}")

    def text(self, value: str, path: str, limit: int | None = None) -> str:
        text = redact(str.__str__(value), self.secrets)
        stored = storable_text(text)
        if stored != text:
            self.note(path, f"NUL or invalid Unicode replaced by {REPLACEMENT!r}")
        if limit is not None and len(stored) > limit:
            self.note(path, f"cut to {limit} characters")
            stored = stored[: limit - 1] + "\u2026"
        return stored

    def number(self, value: Any, path: str) -> int | float | None:
        """Return a number any store takes: ints stay ints; NaN, infinities, non-numbers: null."""
        if value is None:
            return None
        if isinstance(value, numbers.Integral):  # bool, int, IntEnum, numpy integers
            return int(value)
        if isinstance(value, (numbers.Number, Decimal)):
            try:
                number = float(value)  # type: ignore[arg-type]  # complex: TypeError below
            except (TypeError, ValueError, OverflowError):
                number = math.nan
            if math.isfinite(number):
                return number
        self.note(path, f"{_kind(value)} is not a finite number; stored as null")
        return None

    def value(self, item: Any, path: str, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            if self.count == MAX_VALUES + 1:
                self.note(path, f"values after the first {MAX_VALUES} replaced by {TOO_MANY!r}")
            return TOO_MANY
        kind = type(item)
        if item is None or kind is bool or (kind is int and item.bit_length() <= 64):
            return item
        if kind is float and math.isfinite(item):
            return item
        if isinstance(item, str):
            return self.text(item, path)
        if isinstance(item, numbers.Integral):
            return self._integer(item, path)
        if isinstance(item, float):
            return self._float(float(item), path)
        if isinstance(item, Decimal):
            return str(item)  # exact, as the text people wrote ("1.10", "NaN")
        if isinstance(item, numbers.Real):  # Fraction, numpy floats that are not float
            return self._float(float(item), path)
        if isinstance(item, (Mapping, list, tuple, set, frozenset)):
            return self._container(item, path, depth)
        text = safe_str(item)
        if text is None:
            self.note(path, f"str() of a {_kind(item)} failed")
            return f"<unprintable {_kind(item)} object>"
        return self.text(text, path)

    def _integer(self, item: numbers.Integral, path: str) -> int | str:
        number = int(item)
        try:
            str(number)  # Python refuses to write ints of more than 4300 digits
        except ValueError:
            self.note(path, "integer too large to write; stored as a marker")
            return f"<integer of {number.bit_length()} bits>"
        return number

    def _float(self, number: float, path: str) -> float | str:
        if math.isfinite(number):
            return number
        stored = NON_FINITE[repr(number)]
        self.note(path, f"{stored} stored as the string {stored!r}")
        return stored

    def _container(self, item: Any, path: str, depth: int) -> Any:
        if depth >= MAX_DEPTH:
            self.note(path, f"nested deeper than {MAX_DEPTH} levels; replaced by {TOO_DEEP!r}")
            return TOO_DEEP
        if id(item) in self.active:
            self.note(path, f"circular reference replaced by {CIRCULAR!r}")
            return CIRCULAR
        self.active.add(id(item))
        try:
            if isinstance(item, Mapping):
                return self._mapping(item, path, depth)
            values = list(item)
            if isinstance(item, (set, frozenset)):
                values = _sorted(values)
            return [self.value(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(values)]
        except Exception:  # noqa: BLE001 - a container whose iteration raises is user code
            self.note(path, f"a {_kind(item)} that could not be read")
            return f"<unreadable {_kind(item)} object>"
        finally:
            self.active.discard(id(item))

    def _mapping(self, item: Mapping[Any, Any], path: str, depth: int) -> dict[str, Any]:
        pairs = [(self._key_text(k, path), v) for k, v in item.items()]
        names = _distinct_keys([text for text, _ in pairs])
        for (text, _), name in zip(pairs, names, strict=True):
            if name != text and name != storable_key(text):
                self.note(f"{path}[{_short(text)}]", f"its key is taken; stored as {name!r}")
        return {
            name: self.value(v, f"{path}[{_short(name)}]", depth + 1)
            for name, (_, v) in zip(names, pairs, strict=True)
        }

    def _key_text(self, key: Any, path: str) -> str:
        if isinstance(key, str):
            text = str.__str__(key)
        elif key is None or isinstance(key, (bool, float)):
            text = json.dumps(key)  # as json.dumps writes keys: "null", "true", "1.5", "NaN"
        elif isinstance(key, numbers.Integral):
            text = str(int(key))
        else:
            text = safe_str(key) or f"<unprintable {_kind(key)} object>"
            self.note(f"{path}[{_short(text)}]", f"a {_kind(key)} key stored as its text")
        return storable_text(redact(text, self.secrets))


def _distinct_keys(texts: Sequence[str]) -> list[str]:
    """Return a valid, distinct key for each text: valid keys keep their name, others get one.

    ``a.b`` and ``a/b`` both become ``a_b`` in Firebase's alphabet; the second one (in the
    mapping's order) is stored as ``a_b~2``, so no value is dropped.
    """
    names: list[str | None] = []
    taken: set[str] = set()
    for text in texts:
        if is_valid_key(text) and text not in taken:
            taken.add(text)
            names.append(text)
        else:
            names.append(None)
    for index, text in enumerate(texts):
        if names[index] is not None:
            continue
        base = name = storable_key(text)
        number = 2
        while name in taken:
            name = _suffixed(base, f"~{number}")
            number += 1
        taken.add(name)
        names[index] = name
    return [name for name in names if name is not None]


def _sorted(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


def _kind(value: Any) -> str:
    return type(value).__name__


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "\u2026")


# --- one run ------------------------------------------------------------------------------------


class Cleaner:
    """Clean one run's values with its secrets, and log each new kind of replacement once.

    Heartbeats clean the same progress and the start and the end the same metadata: what was
    already said is not said again, so one odd value gives one log line for the whole run.
    """

    def __init__(self, secrets: Sequence[str] = (), label: str = "") -> None:
        self.secrets = tuple(secrets)
        self.label = label
        self._said: set[str] = set()

    def text(self, value: str | None, field_name: str, limit: int | None = None) -> str | None:
        """Return a text field scrubbed, storable and at most ``limit`` characters long."""
        if value is None:
            return None
        step = _Pass(self.secrets)
        result = step.text(value, field_name, limit)
        self._say(step.notes)
        return result

    def data(self, value: Any, field_name: str = "metadata") -> Any:
        """Return ``value`` as plain JSON data that every store takes (see the module)."""
        step = _Pass(self.secrets)
        result = step.value(value, field_name, 0)
        self._say(step.notes)
        return result

    def progress(self, done: Any, total: Any) -> dict[str, int | float | None] | None:
        """Return ``{"done": ..., "total": ...}`` with finite numbers (or null), or ``None``."""
        if done is None:
            return None
        step = _Pass(self.secrets)
        result = {
            "done": step.number(done, "progress.done"),
            "total": step.number(total, "progress.total"),
        }
        self._say(step.notes)
        return result

    def _say(self, notes: list[str]) -> None:
        new = [n for n in dict.fromkeys(notes) if n not in self._said]
        if not new:
            return
        if len(self._said) < 1000:
            self._said.update(new)
        more = f"; and {len(new) - _MAX_NOTES} more" if len(new) > _MAX_NOTES else ""
        logger.warning(
            "monitorkit replaced values no store can take in the record of %s: %s%s",
            self.label,
            "; ".join(new[:_MAX_NOTES]),
            more,
        )
