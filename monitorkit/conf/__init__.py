"""Settings, read when used (never at import) so ``override_settings`` works.

The settings that users of django-command-monitor already have keep their names and meaning:
``FIREBASE_MONITORING``, ``FIREBASE_MONITORING_KEY``, ``FIREBASE_MONITORING_INTERVAL_PING``,
``FIREBASE_MONITORING_RUN`` and ``TESTING``. Everything new is spelled ``MONITORKIT_*``.

Each setting is declared once, as a :class:`Setting`: its name, its rule, its default, what it
means, how to fix it and its check id. From that one declaration come the value a
:class:`MonitorSettings` property (or the module that reads the setting) gets, the warning of
``manage.py check`` (``monitorkit/checks.py``), the one warning logged at run time
(:func:`warn_once`) and the setting's row in ``docs/configuration.md``, so the reader, the check
and the page cannot disagree. The dict settings are declared here too; what their entries say
is judged by the module that reads them (``Setting.checked_by``), which imports more than every
command should pay for.

A monitoring setting only ever warns: a bad value must never stop ``migrate`` or any other
command, so every problem is a ``checks.Warning`` and the property falls back to the default.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import reprlib
import tempfile
import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from django.conf import settings as django_settings

logger = logging.getLogger("monitorkit")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

DAY = 86_400.0
STALE_INTERVALS = 3
#: The upper bound of every whole-number setting: a million runs, records, characters or files.
MAX_COUNT = 1_000_000

DEFAULT_INTERVAL = 30.0
DEFAULT_FLUSH_TIMEOUT = 3.0
DEFAULT_RETENTION = 100
DEFAULT_QUEUE_SIZE = 1000
DEFAULT_TRACEBACK_LIMIT = 8000
DEFAULT_HTTP_TIMEOUT = (3.05, 5.0)
DEFAULT_RETRY_ATTEMPTS = 3
DEFAULT_SPOOL_MAX_FILES = 1000
DEFAULT_OUTPUT_TAIL_KB = 4
#: Seconds between two cycles of ``monitor_watch`` (its loop's ``--interval`` by default).
DEFAULT_WATCHER_INTERVAL = 60.0
#: The largest output tail a record may carry: Firebase and the page both hold whole records.
MAX_OUTPUT_TAIL_KB = 1024

#: The most characters of a release a record keeps.
RELEASE_LIMIT = 255
#: Where the release is read when ``MONITORKIT_RELEASE`` is not set: the first of these
#: environment variables that is set and not empty, read once per process
#: (``monitorkit/release.py``). Each is what a platform or a build sets to the deployed
#: commit or release.
RELEASE_VARIABLES: tuple[str, ...] = (
    "MONITORKIT_RELEASE",  # ours: for a process or a container of its own
    "SENTRY_RELEASE",  # what sentry-sdk reads: a project that names its releases for Sentry
    "SOURCE_VERSION",  # Heroku's build, AWS CodeBuild
    "HEROKU_SLUG_COMMIT",  # Heroku's dyno metadata
    "RENDER_GIT_COMMIT",  # Render
    "RAILWAY_GIT_COMMIT_SHA",  # Railway
    "GIT_SHA",  # a common build argument of Dockerfiles
    "GIT_COMMIT",  # Jenkins, and many Dockerfiles
)

#: Commands ``MONITORKIT_AUTO`` leaves alone unless ``MONITORKIT_AUTO_EXCLUDE`` says otherwise:
#: each is interactive, long-lived by design, a development tool or a scaffold, so a record of
#: it says nothing about whether the project's jobs work (and a run that lasts a whole working
#: day, or waits for a person at a prompt, would only be noise on the status page).
DEFAULT_AUTO_EXCLUDE: tuple[str, ...] = (
    "runserver",  # a development server: runs until Ctrl-C
    "testserver",  # the same, with fixtures
    "runserver_plus",  # django-extensions' runserver
    "shell",  # interactive
    "shell_plus",  # django-extensions' shell
    "dbshell",  # interactive, hands the terminal to the database client
    "test",  # the test runner: its own report, and TESTING usually switches monitoring off
    "makemigrations",  # a development tool, often interactive (questions about defaults)
    "squashmigrations",  # a development tool, interactive
    "optimizemigration",  # a development tool
    "makemessages",  # a development tool
    "startapp",  # scaffolding
    "startproject",  # scaffolding
    "createsuperuser",  # interactive (asks for a password)
    "changepassword",  # interactive
    "monitor_status",  # monitorkit's own report of the records
    "monitor_watch",  # monitorkit's own watcher: long-lived with --interval
    "monitor_badge",  # monitorkit's own: prints badge URLs, their tokens credentials
    "monitor_snooze",  # monitorkit's own: sets and lists snoozes
    # Read-only development commands: they change nothing a job depends on, and the first
    # two print settings (diffsettings prints SECRET_KEY and database passwords).
    "check",  # a report of the project's problems (and it runs before every command anyway)
    "diffsettings",  # prints the settings: secrets included
    "print_settings",  # django-extensions' diffsettings
    "showmigrations",  # a report
    "sqlmigrate",  # prints SQL
    "sqlflush",  # prints SQL
    "sqlsequencereset",  # prints SQL
    "inspectdb",  # prints model code
)
#: Commands whose output tail is never kept, whatever ``MONITORKIT_OUTPUT_TAIL_EXCLUDE`` says
#: (it adds to these): what they print is the project's settings or data, secrets included.
#: A run of one is recorded as any other, without its output.
ALWAYS_OUTPUT_TAIL_EXCLUDE: tuple[str, ...] = (
    "dumpdata",  # prints rows: sessions, password hashes, tokens, monitorkit's own records
    "dumpscript",  # django-extensions: the same as Python code
    "diffsettings",  # prints the settings
    "print_settings",  # django-extensions' diffsettings
    "shell",  # a session's every line, typed and printed
    "shell_plus",
    "dbshell",
    "monitor_badge",  # monitorkit's badge URLs: each token is a credential
)


# The three classes below are plain slotted classes, not dataclasses or named tuples: every
# management command imports this module (the app's system checks do), and on Python 3.11 a
# frozen dataclass compiles its generated methods at import (about 0.5 ms each), a
# ``typing.NamedTuple`` four snippets; paid by every command of the project, monitored or not
# (issue 16, benchmark row 15).


class Problem:
    """One thing wrong with the settings, worded for ``manage.py check`` (always a warning)."""

    __slots__ = ("hint", "id", "msg")

    def __init__(self, id: str, msg: str, hint: str) -> None:
        self.id = id
        self.msg = msg
        self.hint = hint

    def __repr__(self) -> str:
        return f"Problem(id={self.id!r}, msg={self.msg!r}, hint={self.hint!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Problem):
            return NotImplemented
        return (self.id, self.msg, self.hint) == (other.id, other.msg, other.hint)

    def __hash__(self) -> int:
        return hash((self.id, self.msg, self.hint))


def _never_needed() -> str | None:
    return None


class Verdict(Generic[T_co]):
    """What a rule makes of a value: what to use (``None``: the default) and what is wrong.

    ``problem`` completes a sentence that starts with the setting's name.
    """

    __slots__ = ("problem", "value")

    def __init__(self, value: T_co | None = None, problem: str | None = None) -> None:
        self.value = value
        self.problem = problem

    def __repr__(self) -> str:
        return f"Verdict(value={self.value!r}, problem={self.problem!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return (self.value, self.problem) == (other.value, other.problem)

    def __hash__(self) -> int:
        return hash((self.value, self.problem))


class Setting(Generic[T]):
    """One setting, declared once: the reader's fallback, the check and its row in the docs.

    ``meaning``, ``shown_type`` and ``shown_default`` are the row of its ``section``'s table in
    ``docs/configuration.md`` (Markdown; ``monitorkit/conf/table.py`` writes the tables, so
    the page cannot drift from the rules), and ``shown_default`` also ends a problem's message.
    ``needed`` says why the setting must be set now, or returns ``None`` when leaving it unset
    is fine.

    The rule must be cheap enough to run before every command of the project. A setting whose
    contents need more (every command module, the notifiers and their HTTP client) gets a rule
    of its type only and names the module that judges the rest, ``checked_by``: that module
    says this declaration's problem together with its own (``deeper_checks``, their ids as the
    docs show them), where its check runs (``monitorkit/checks.py``), and :func:`problems`
    leaves it out, so no problem is said twice.
    """

    __slots__ = (
        "check_id",
        "checked_by",
        "deeper_checks",
        "default",
        "hint",
        "meaning",
        "name",
        "needed",
        "rule",
        "section",
        "shown_default",
        "shown_type",
    )

    def __init__(
        self,
        name: str,
        check_id: str,
        rule: Callable[[Any], Verdict[T]],
        default: Callable[[], T],
        shown_default: str,
        meaning: str,
        hint: str,
        section: str,
        shown_type: str,
        needed: Callable[[], str | None] = _never_needed,
        checked_by: str | None = None,
        deeper_checks: str = "",
    ) -> None:
        self.name = name
        self.check_id = check_id
        self.rule = rule
        self.default = default
        self.shown_default = shown_default
        self.meaning = meaning
        self.hint = hint
        self.section = section
        self.shown_type = shown_type
        self.needed = needed
        self.checked_by = checked_by
        self.deeper_checks = deeper_checks

    def __repr__(self) -> str:
        return f"Setting({self.name!r}, {self.check_id!r})"

    def judge(self) -> Verdict[T]:
        """Apply the rule to the current value; ``None`` counts as unset."""
        raw = getattr(django_settings, self.name, None)
        if raw is None:
            why = self.needed()
            return Verdict() if why is None else Verdict(problem=f"is not set: {why}.")
        try:
            return self.rule(raw)
        except Exception:  # noqa: BLE001 - a value that cannot even be read is a bad value
            return Verdict(problem=f"cannot be read (a {type(raw).__name__}).")

    def value(self) -> T:
        """Return the value to use: the setting's when it is usable, else the default."""
        verdict = self.judge()
        return self.default() if verdict.value is None else verdict.value

    def problem(self) -> Problem | None:
        """Return what is wrong with the current value, if anything."""
        verdict = self.judge()
        if verdict.problem is None:
            return None
        msg = f"{self.name} {verdict.problem}"
        if verdict.value is None and getattr(django_settings, self.name, None) is not None:
            msg += f" The default, {self.shown_default}, is used meanwhile."
        return Problem(self.check_id, msg, self.hint)


_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def show(value: Any) -> str:
    """Return a short ``repr`` of a setting's value for a message (it never raises)."""
    try:
        return _repr.repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break the check
        return f"a {type(value).__name__}"


# Rules: each returns a function of the raw value (never ``None``) to a Verdict.

_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", ""})


def boolean() -> Callable[[Any], Verdict[bool]]:
    """``True``/``False``; ``0``/``1`` and the words true/false, yes/no, on/off warn but count."""

    def rule(value: Any) -> Verdict[bool]:
        if isinstance(value, bool):
            return Verdict(value)
        word = value.strip().lower() if isinstance(value, str) else None
        if word in _TRUE_WORDS or (type(value) is int and value == 1):
            meant: bool | None = True
        elif word in _FALSE_WORDS or (type(value) is int and value == 0):
            meant = False
        else:
            meant = None
        problem = f"must be True or False, not {show(value)}."
        if meant is not None:
            problem += f" It is read as {meant}."
        return Verdict(meant, problem)

    return rule


def _finite(value: Any) -> float | None:
    """Return ``value`` as a finite float, or ``None`` for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def seconds(upper: float, upper_text: str) -> Callable[[Any], Verdict[float]]:
    """A number of seconds above 0 and at most ``upper``."""

    def rule(value: Any) -> Verdict[float]:
        number = _finite(value)
        if number is not None and 0 < number <= upper:
            return Verdict(number)
        return Verdict(
            problem=f"must be a number of seconds above 0 and at most {upper:.0f} "
            f"({upper_text}), not {show(value)}."
        )

    return rule


def count(upper: int = MAX_COUNT) -> Callable[[Any], Verdict[int]]:
    """A whole number from 1 to ``upper`` (an ``int``; ``2.5``, ``"10"`` and bools are not)."""

    def rule(value: Any) -> Verdict[int]:
        if type(value) is int and 0 < value <= upper:
            return Verdict(value)
        return Verdict(problem=f"must be a whole number from 1 to {upper:,}, not {show(value)}.")

    return rule


def whole_number(upper: int) -> Callable[[Any], Verdict[int]]:
    """A whole number from 0 to ``upper`` (``0`` switches the feature off)."""

    def rule(value: Any) -> Verdict[int]:
        if type(value) is int and 0 <= value <= upper:
            return Verdict(value)
        return Verdict(problem=f"must be a whole number from 0 to {upper:,}, not {show(value)}.")

    return rule


def name_patterns(value: Any) -> Verdict[tuple[str, ...]]:
    """A list of command names or ``fnmatch`` patterns (``"import_*"``)."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        return Verdict(problem=f"must be a list of command names or patterns, not {show(value)}.")
    patterns = tuple(v for v in value if isinstance(v, str))
    wrong = [v for v in value if not isinstance(v, str)]
    if wrong:
        return Verdict(patterns, f"holds {show(wrong[0])}, not a command name or pattern.")
    return Verdict(patterns)


def mapping(value: Any) -> Verdict[Mapping[Any, Any]]:
    """A dict; its entries are judged by the module that reads them (``Setting.checked_by``)."""
    if isinstance(value, Mapping):
        return Verdict(value)
    return Verdict(problem=f"must be a dict, not a {type(value).__name__}.")


def entries(value: Any) -> Verdict[tuple[Any, ...]]:
    """A list; its entries are judged by the module that reads them (``Setting.checked_by``)."""
    if isinstance(value, (list, tuple)):
        return Verdict(tuple(value))
    return Verdict(problem=f"must be a list of dicts, not a {type(value).__name__}.")


def module_paths(value: Any) -> Verdict[tuple[str, ...]]:
    """A list of dotted module paths; whether each imports is judged where they are imported."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        return Verdict(problem=f"must be a list of module paths, not {show(value)}.")
    paths = tuple(v for v in value if isinstance(v, str))
    wrong = [f"holds {show(v)}, not a module path" for v in value if not isinstance(v, str)]
    return Verdict(paths, "; ".join(wrong) + "." if wrong else None)


def http_url(value: Any) -> Verdict[str]:
    """An http(s) URL. Other text warns but is used as given: a person reading the link an
    alert carries can often still find the page (``ops.example.com/monitor``)."""
    if not isinstance(value, str):
        return Verdict(problem=f"must be an http(s) URL, not {show(value)}.")
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return Verdict(value, f"must be an http(s) URL, not {show(value)}.")
    return Verdict(value)


def number_between(low: float, high: float, what: str) -> Callable[[Any], Verdict[float]]:
    """A number above ``low`` and at most ``high`` (``what`` names it in the message)."""

    def rule(value: Any) -> Verdict[float]:
        number = _finite(value)
        if number is not None and low < number <= high:
            return Verdict(number)
        return Verdict(
            problem=f"must be {what}, above {low:g} and at most {high:g}, not {show(value)}."
        )

    return rule


def secret_text(value: Any) -> Verdict[str]:
    """A non-empty string (its value is never shown: it is a secret)."""
    if isinstance(value, str) and value.strip():
        return Verdict(value)
    return Verdict(problem=f"must be a non-empty string, not a {type(value).__name__}.")


def timeout_pair(upper: float) -> Callable[[Any], Verdict[tuple[float, float]]]:
    """Seconds, or a ``(connect, read)`` pair of them, each above 0 and at most ``upper``."""

    def usable(part: Any) -> float | None:
        number = _finite(part)
        return number if number is not None and 0 < number <= upper else None

    def rule(value: Any) -> Verdict[tuple[float, float]]:
        both = usable(value)
        if both is not None:
            return Verdict((both, both))
        if isinstance(value, (tuple, list)) and len(value) == 2:
            connect, read = usable(value[0]), usable(value[1])
            if connect is not None and read is not None:
                return Verdict((connect, read))
        return Verdict(
            problem=f"must be a number of seconds, or a (connect, read) pair of them, each "
            f"above 0 and at most {upper:.0f}, not {show(value)}."
        )

    return rule


def firebase_config(value: Any) -> Verdict[dict[str, Any]]:
    """A dict naming a database; its values are never shown (they may hold credentials)."""
    if not isinstance(value, dict):
        return Verdict(problem=f"must be a dict, not a {type(value).__name__}.")
    if not value:
        return Verdict()  # an empty dict counts as unset
    if not (value.get("DATABASE_URL") or value.get("NAME")):
        return Verdict(dict(value), "names no database: it has neither 'DATABASE_URL' nor 'NAME'.")
    return Verdict(dict(value))


def firebase_key(value: Any) -> Verdict[str]:
    """The top node in Firebase; only judged when Firebase is configured."""
    if FIREBASE.value() is None:
        return Verdict(value if isinstance(value, str) else None)
    if not isinstance(value, str):
        return Verdict(problem=f"must be a string, not {show(value)}.")
    from ..naming import is_valid_key

    parts = [part for part in value.split("/") if part]
    if not parts:
        return Verdict(value, "is empty: every Firebase write would fail.")
    if not all(is_valid_key(part) for part in parts):
        return Verdict(
            value,
            f"= {show(value)} holds characters Firebase keys forbid (. $ # [ ] or control "
            "characters): every Firebase write would fail.",
        )
    return Verdict(value)


def database_alias(value: Any) -> Verdict[str]:
    """A key of ``DATABASES``."""
    if not isinstance(value, str):
        return Verdict(problem=f"must be a string, not {show(value)}.")
    if value not in getattr(django_settings, "DATABASES", {}):
        return Verdict(problem=f"{show(value)} is not a key of DATABASES.")
    return Verdict(value)


def reporter_paths(value: Any) -> Verdict[list[str]]:
    """A list of dotted paths, each of which can be imported."""
    if not isinstance(value, (list, tuple)):
        return Verdict(problem=f"must be a list of dotted paths, not a {type(value).__name__}.")
    from django.utils.module_loading import import_string

    paths = [path for path in value if isinstance(path, str)]
    wrong = [f"holds {show(v)}, not a dotted path" for v in value if not isinstance(v, str)]
    for path in paths:
        try:
            import_string(path)
        except Exception as err:  # noqa: BLE001 - whatever the import raises, the check goes on
            wrong.append(f"entry {path!r} cannot be imported ({type(err).__name__}: {err})")
    return Verdict(paths, "; ".join(wrong) + "." if wrong else None)


def store_path(value: Any) -> Verdict[str]:
    """The dotted path of a store: a subclass of ``monitorkit.stores.base.Reporter``."""
    if not isinstance(value, str) or "." not in value:
        return Verdict(problem=f"must be the dotted path of a Reporter class, not {show(value)}.")
    from django.utils.module_loading import import_string

    try:
        found = import_string(value)
    except Exception as err:  # noqa: BLE001 - whatever the import raises, the check goes on
        return Verdict(problem=f"{value!r} cannot be imported ({type(err).__name__}: {err}).")
    # Told by its class's path, not by importing the reporters here (they import this module).
    if not (isinstance(found, type) and REPORTER_CLASS in _class_paths(found)):
        return Verdict(problem=f"{value!r} is not a subclass of {REPORTER_CLASS}.")
    # The class's own path, however it was named (a package's export, a path kept for a move):
    # one class, one path, for whoever compares it with a built-in store's.
    return Verdict(f"{found.__module__}.{found.__qualname__}")


def _class_paths(cls: type) -> set[str]:
    return {f"{klass.__module__}.{klass.__qualname__}" for klass in cls.__mro__}


def directory(value: Any) -> Verdict[str]:
    """A path (``str`` or ``pathlib.Path``) of a directory, best absolute."""
    path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(path, str) or not path or "\0" in path:
        return Verdict(problem=f"must be the path of a directory, not {show(value)}.")
    if not os.path.isabs(path):
        return Verdict(
            path,
            f"= {path!r} is relative: it depends on the directory each command is started in.",
        )
    return Verdict(path)


def secret_url(value: Any) -> Verdict[str]:
    """An http(s) URL with a host; never shown (a ping URL's path is its credential)."""
    if not isinstance(value, str):
        return Verdict(problem=f"must be an http(s) URL (a string), not a {type(value).__name__}.")
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value.strip())
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed IPv6 host or port
        usable = False
    if not usable:
        return Verdict(problem="is not an http(s) URL with a host (its value is not shown).")
    return Verdict(value.strip())


def release_text(value: Any) -> Verdict[str]:
    """A release: a string of printable characters, at most ``RELEASE_LIMIT`` of them."""
    if not isinstance(value, str):
        return Verdict(problem=f"must be a string (a commit, tag or version), not {show(value)}.")
    text = value.strip()
    if not text:
        return Verdict(problem="is empty: the release is read from the environment instead.")
    if not text.isprintable():
        return Verdict(problem=f"= {show(value)} holds control characters.")
    if len(text) > RELEASE_LIMIT:
        return Verdict(
            text[:RELEASE_LIMIT],
            f"is {len(text)} characters long: only the first {RELEASE_LIMIT} are kept.",
        )
    return Verdict(text)


def deprecated(rule: Callable[[Any], Verdict[T]], why: str) -> Callable[[Any], Verdict[T]]:
    """A setting that is still read but no longer used: warn whenever it is set."""

    def deprecated_rule(value: Any) -> Verdict[T]:
        verdict = rule(value)
        return Verdict(verdict.value, f"is deprecated and ignored: {why}")

    return deprecated_rule


def default_spool_dir() -> str:
    """Return a directory of this project's own in the user's cache directory.

    ``$XDG_CACHE_HOME/monitorkit/spool-<digest>`` (``~/.cache`` when unset); when that cannot be
    written (no home, or one the user may not write, as for many service accounts), the system's
    temporary directory, with the user's id in the name: ``monitorkit-spool-<uid>-<digest>``.
    Either way the spool uses it only if it is the user's own, mode 0700 (``spool.py``).
    """
    databases = getattr(django_settings, "DATABASES", {})
    default_db = databases.get("default", {}) if isinstance(databases, dict) else {}
    # override_settings hides SETTINGS_MODULE; the environment variable is where it came from.
    module = getattr(django_settings, "SETTINGS_MODULE", None)
    identity = "\n".join(
        str(part)
        for part in (
            module or os.environ.get("DJANGO_SETTINGS_MODULE", ""),
            getattr(django_settings, "BASE_DIR", ""),
            default_db.get("NAME", "") if isinstance(default_db, dict) else "",
        )
    )
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    cache = _user_cache_dir()
    if cache is not None:
        return os.path.join(cache, "monitorkit", f"spool-{digest}")
    return os.path.join(tempfile.gettempdir(), f"monitorkit-spool-{os.geteuid()}-{digest}")


def _user_cache_dir() -> str | None:
    """Return the user's cache directory if this user can write there (or create it)."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        cache = os.path.join(home, ".cache")
    existing = cache
    while not os.path.lexists(existing):  # what exists nearest decides
        existing = os.path.dirname(existing)
    usable = os.path.isdir(existing) and os.access(existing, os.W_OK | os.X_OK)
    return cache if usable else None


# The declarations, in the order of docs/configuration.md, each table (``section``) in turn.
# Ids are never reused. ``meaning`` is Markdown: it is the row's text on that page.

RUN = Setting(
    name="FIREBASE_MONITORING_RUN",
    check_id="monitorkit.W002",
    rule=boolean(),
    default=lambda: True,
    shown_default="True",
    meaning="`False` switches monitoring off for the whole project.",
    hint="Set FIREBASE_MONITORING_RUN = True or FIREBASE_MONITORING_RUN = False.",
    section="switches",
    shown_type="`bool`",
)
TESTING = Setting(
    name="TESTING",
    check_id="monitorkit.W003",
    rule=boolean(),
    default=lambda: False,
    shown_default="False",
    meaning="`True` switches monitoring off, as django-command-monitor did.",
    hint="Set TESTING = True or TESTING = False.",
    section="switches",
    shown_type="`bool`",
)
FIREBASE: Setting[dict[str, Any] | None] = Setting(
    name="FIREBASE_MONITORING",
    check_id="monitorkit.W004",
    rule=firebase_config,
    default=lambda: None,
    shown_default="unset",
    meaning="The Firebase Realtime Database to write to. Keys below. An empty dict counts as "
    "unset; a dict with neither `DATABASE_URL` nor `NAME` is warned about. Its values never "
    "appear in a message.",
    hint="Set FIREBASE_MONITORING = {'DATABASE_URL': 'https://<db>.firebaseio.com'} "
    "or {'NAME': '<database name>'}.",
    section="stores",
    shown_type="`dict`",
)
FIREBASE_KEY = Setting(
    name="FIREBASE_MONITORING_KEY",
    check_id="monitorkit.W005",
    rule=firebase_key,
    default=lambda: "",
    shown_default="''",
    meaning="The top node under which runs are stored in Firebase, e.g. "
    '`"monitor-myapp-production"`. May hold slashes (`"monitoring/monitor-myapp"`) to nest it '
    "deeper. With Firebase configured, a missing or empty key, or one with `. $ # [ ]` or "
    "control characters, is warned about (every Firebase write would fail).",
    hint="Set FIREBASE_MONITORING_KEY = 'monitor-myapp-production' (letters, digits, - and _; "
    "slashes nest it deeper).",
    section="stores",
    shown_type="`str`",
    needed=lambda: "every Firebase write would fail" if FIREBASE.value() is not None else None,
)
DATABASE: Setting[bool | None] = Setting(
    name="MONITORKIT_DATABASE",
    check_id="monitorkit.W006",
    rule=boolean(),
    default=lambda: None,
    shown_default="unset: automatic",
    meaning="Whether runs are stored in the project's database. Unset: yes exactly when "
    "`FIREBASE_MONITORING` is not set and `monitorkit` is in `INSTALLED_APPS`. `True`: yes (also "
    "when Firebase is configured, so runs go to both), provided `monitorkit` is installed. "
    "`False`: no.",
    hint="Set MONITORKIT_DATABASE = True or MONITORKIT_DATABASE = False, or leave it unset.",
    section="stores",
    shown_type="`bool`",
)
DATABASE_ALIAS = Setting(
    name="MONITORKIT_DATABASE_ALIAS",
    check_id="monitorkit.W007",
    rule=database_alias,
    default=lambda: "default",
    shown_default="'default'",
    meaning="Which entry of `DATABASES` the embedded store writes to. A name that is not a key "
    'of `DATABASES` is warned about and `"default"` is used.',
    hint="Name one of the databases in DATABASES.",
    section="stores",
    shown_type="`str`",
)
#: The classes of the built-in stores, by their own paths (``MONITORKIT_STORE``'s value is
#: made one of these however it names them, e.g. ``monitorkit.stores.database.DatabaseReporter``).
DATABASE_STORE = "monitorkit.stores.database.runs.DatabaseReporter"
FIREBASE_STORE = "monitorkit.stores.firebase.runs.FirebaseReporter"
REPORTER_CLASS = "monitorkit.stores.base.Reporter"
#: The path the docs give for the database store (its package's export of ``DATABASE_STORE``).
PUBLIC_DATABASE_STORE = "monitorkit.stores.database.DatabaseReporter"
STORE: Setting[str | None] = Setting(
    name="MONITORKIT_STORE",
    check_id="monitorkit.W031",
    rule=store_path,
    default=lambda: None,
    shown_default="unset: Firebase when FIREBASE_MONITORING is set, else the project's database",
    meaning="The store every run is written to and every reader reads (status page, watcher, "
    "metrics, `monitor_status`): the dotted path of its `Reporter` class, a project's own "
    "included (see [Reporters](reporters.md)). Naming "
    f"`{PUBLIC_DATABASE_STORE}` stores runs in the database even with Firebase configured. A path "
    "that "
    "cannot be imported, or is not a `Reporter`, is warned about and the default is used.",
    hint=f"Give the dotted path of a subclass of {REPORTER_CLASS}, e.g. "
    f"MONITORKIT_STORE = {PUBLIC_DATABASE_STORE!r}, or leave it unset.",
    section="stores",
    shown_type="`str` (dotted path)",
)
REPORTERS: Setting[list[str]] = Setting(
    name="MONITORKIT_REPORTERS",
    check_id="monitorkit.W008",
    rule=reporter_paths,
    default=list,
    shown_default="[]",
    meaning="Dotted paths of extra reporter classes, added to every monitored command (see "
    "[Reporters](reporters.md#writing-your-own-reporter)). An entry that is not a string, or "
    "cannot be imported, is warned about.",
    hint=f"Give dotted paths of subclasses of {REPORTER_CLASS}, e.g. "
    "MONITORKIT_REPORTERS = ['myproject.monitoring.SlackReporter'].",
    section="stores",
    shown_type="`list[str]`",
)
INTERVAL = Setting(
    name="FIREBASE_MONITORING_INTERVAL_PING",
    check_id="monitorkit.W009",
    rule=seconds(DAY, "one day"),
    default=lambda: DEFAULT_INTERVAL,
    shown_default="30",
    meaning="Seconds between two heartbeats of a run. A class can override it with "
    "`monitor_heartbeat_interval`.",
    hint="Set FIREBASE_MONITORING_INTERVAL_PING to the seconds between heartbeats, e.g. 30.",
    section="timing",
    shown_type="seconds: above 0, at most 86400 (one day)",
)
STALE_AFTER = Setting(
    name="MONITORKIT_STALE_AFTER",
    check_id="monitorkit.W010",
    rule=seconds(30 * DAY, "30 days"),
    default=lambda: STALE_INTERVALS * INTERVAL.value(),
    shown_default="3 x FIREBASE_MONITORING_INTERVAL_PING",
    meaning="Seconds without a heartbeat after which an unfinished run is stale: shown as "
    "`STALE` by the status page, its JSON, the metrics and `monitor_status`, and judged `STALE` "
    "by the watcher. Nothing rewrites the stored run.",
    hint="Set MONITORKIT_STALE_AFTER to a few heartbeat intervals, in seconds, e.g. 90.",
    section="timing",
    shown_type="seconds: above 0, at most 2592000 (30 days)",
)
FLUSH_TIMEOUT = Setting(
    name="MONITORKIT_FLUSH_TIMEOUT",
    check_id="monitorkit.W011",
    rule=seconds(600.0, "ten minutes"),
    default=lambda: DEFAULT_FLUSH_TIMEOUT,
    shown_default="3",
    meaning="The longest a command waits at its end (or when a kill signal arrives) for its "
    "records to be delivered. Past it, the command goes on and a WARNING says how many records "
    "were not delivered.",
    hint="Set MONITORKIT_FLUSH_TIMEOUT to the seconds a command may wait at exit, e.g. 3.",
    section="timing",
    shown_type="seconds: above 0, at most 600 (ten minutes)",
)
HTTP_TIMEOUT = Setting(
    name="MONITORKIT_HTTP_TIMEOUT",
    check_id="monitorkit.W012",
    rule=timeout_pair(600.0),
    default=lambda: DEFAULT_HTTP_TIMEOUT,
    shown_default="(3.05, 5.0)",
    meaning="Timeout of every HTTP request a reporter makes; one number sets both. Runs on the "
    "sender's thread, never the command's.",
    hint="For example MONITORKIT_HTTP_TIMEOUT = (3.05, 5).",
    section="timing",
    shown_type="seconds, or `(connect, read)`: each above 0, at most 600 (ten minutes)",
)
RETRY_ATTEMPTS = Setting(
    name="MONITORKIT_RETRY_ATTEMPTS",
    check_id="monitorkit.W013",
    rule=deprecated(
        count(100),
        "a write is now retried until the flush bound (MONITORKIT_FLUSH_TIMEOUT), and what is "
        "still undelivered then waits in the spool.",
    ),
    default=lambda: DEFAULT_RETRY_ATTEMPTS,
    shown_default="3",
    meaning="**Deprecated and ignored.** A write is now retried until the flush bound "
    "(`MONITORKIT_FLUSH_TIMEOUT`), and what is still undelivered then waits in the spool. The "
    "setting is still read (so old settings files keep working), but setting it at all is "
    "warned about: remove it.",
    hint="Remove MONITORKIT_RETRY_ATTEMPTS from the settings; MONITORKIT_FLUSH_TIMEOUT bounds "
    "the retries.",
    section="timing",
    shown_type="`int`: 1 to 100",
)
RETENTION = Setting(
    name="MONITORKIT_RETENTION",
    check_id="monitorkit.W014",
    rule=count(),
    default=lambda: DEFAULT_RETENTION,
    shown_default="100",
    meaning="Runs kept per command id, in Firebase and in the database (django-command-monitor "
    "kept 100); `MISSED` records are not counted (the newest 10 are kept besides).",
    hint="Set MONITORKIT_RETENTION to the number of runs to keep per command, e.g. 100.",
    section="sizes",
    shown_type="`int`",
)
TRACEBACK_LIMIT = Setting(
    name="MONITORKIT_TRACEBACK_LIMIT",
    check_id="monitorkit.W015",
    rule=count(),
    default=lambda: DEFAULT_TRACEBACK_LIMIT,
    shown_default="8000",
    meaning="Characters of traceback kept in a record: the end of it, where the error is.",
    hint="Set MONITORKIT_TRACEBACK_LIMIT to a number of characters, e.g. 8000.",
    section="sizes",
    shown_type="`int`",
)
QUEUE_SIZE = Setting(
    name="MONITORKIT_QUEUE_SIZE",
    check_id="monitorkit.W016",
    rule=count(),
    default=lambda: DEFAULT_QUEUE_SIZE,
    shown_default="1000",
    meaning="Record updates waiting for the sender before new ones are dropped. Drops are "
    "counted and logged as a WARNING.",
    hint="Set MONITORKIT_QUEUE_SIZE to a number of records, e.g. 1000.",
    section="sizes",
    shown_type="`int`",
)
SPOOL_DIR = Setting(
    name="MONITORKIT_SPOOL_DIR",
    check_id="monitorkit.W017",
    rule=directory,
    default=default_spool_dir,
    shown_default="a directory of the project's own in the user's cache directory",
    meaning="Where undelivered records wait. The default is "
    "`$XDG_CACHE_HOME/monitorkit/spool-<12 hex digits>` (`~/.cache/monitorkit/...` when "
    "`XDG_CACHE_HOME` is unset), where the digits are the start of a SHA-256 of "
    "`SETTINGS_MODULE`, `BASE_DIR` and the `NAME` of the default database, so that two projects "
    "on one machine do not share a spool, and every command of one project run by one user "
    "does. Only when that cannot be written (no home, or one the user may not write in) is it "
    "`<tempdir>/monitorkit-spool-<uid>-<12 hex digits>` (`tempfile.gettempdir()`: `$TMPDIR`, "
    "else `/tmp`). Whichever it is, default or set, it is used only if it is the user's own "
    "with mode 0700 (see [Operations](operations.md#the-spool)). A relative path is warned "
    "about (it depends on the directory each command starts in) but used; an empty one, or one "
    "that is not a path, is warned about and the default is used.",
    hint="Set MONITORKIT_SPOOL_DIR to an absolute path, e.g. os.path.join(BASE_DIR, 'spool').",
    section="spool",
    shown_type="path (`str` or `pathlib.Path`)",
)
SPOOL_MAX_FILES = Setting(
    name="MONITORKIT_SPOOL_MAX_FILES",
    check_id="monitorkit.W018",
    rule=count(),
    default=lambda: DEFAULT_SPOOL_MAX_FILES,
    shown_default="1000",
    meaning="The most undelivered records the spool holds at once; from 1 to 1,000,000.",
    hint="Set MONITORKIT_SPOOL_MAX_FILES to a number of files, e.g. 1000.",
    section="spool",
    shown_type="`int`",
)
SCHEDULES: Setting[Mapping[Any, Any]] = Setting(
    name="MONITORKIT_SCHEDULES",
    check_id="monitorkit.W101",
    rule=mapping,
    default=dict,
    shown_default="{}",
    meaning="Expectations for commands you do not own, or overrides of a class's `monitor_*` "
    "attributes, key by key.",
    hint='Use MONITORKIT_SCHEDULES = {"<command id>": {"schedule": "0 3 * * *"}}.',
    section="schedules-and-alerts",
    shown_type="`dict` of command id to a dict of `schedule`, `timezone`, `start_margin`, "
    "`max_runtime`, `alert_after`, `notify_recovery`, `muted`, `channels`, `owner`, "
    "`runbook`, `realert_every`, `escalate_after`, `escalate_to`, `recover_after`, "
    "`flap_threshold`, `min_duration`, `max_duration`, `check`, `outliers`",
    checked_by="monitorkit.health.schedules",
    deeper_checks="`W102` … `W109`, `W130` … `W133`, `W141` … `W143`, `W160`, `W161`",
)
MONITOR_MODULES: Setting[tuple[str, ...]] = Setting(
    name="MONITORKIT_MONITOR_MODULES",
    check_id="monitorkit.W110",
    rule=module_paths,
    default=tuple,
    shown_default="[]",
    meaning="Modules imported by the watcher (and `monitor_status`, the status page, "
    "`manage.py check`) before it reads the schedules, so that what their "
    "`monitorkit.monitor(..., schedule=...)` declare is known without any of them having run "
    "(see [Functions and blocks](functions.md#schedules)). A module that cannot be imported, or "
    "a value that is not a list of strings, is warned about; the rest are read.",
    hint='Use MONITORKIT_MONITOR_MODULES = ["myapp.tasks"]: dotted paths of importable modules.',
    section="schedules-and-alerts",
    shown_type="`list[str]` of dotted module paths",
    checked_by="monitorkit.health.schedules",
)
ALERTS: Setting[Mapping[Any, Any]] = Setting(
    name="MONITORKIT_ALERTS",
    check_id="monitorkit.W201",
    rule=mapping,
    default=dict,
    shown_default="{} (no alerts)",
    meaning="Where the watcher sends alerts.",
    hint="Set MONITORKIT_ALERTS to a dict with any of the keys 'email', 'webhook', 'apprise'.",
    section="schedules-and-alerts",
    shown_type="`dict` with `email`, `webhook`, `apprise`, or channels of your own "
    '(`{"BACKEND": "dotted.path", ...}`)',
    checked_by="monitorkit.alerts",
    deeper_checks="`W202` … `W205`, `W207`",
)
BASE_URL: Setting[str | None] = Setting(
    name="MONITORKIT_BASE_URL",
    check_id="monitorkit.W206",
    rule=http_url,
    default=lambda: None,
    shown_default="none (alerts carry no link)",
    meaning="Where the status page is mounted; alerts link to "
    "`<BASE_URL>/commands/<command id>/`. Text that is not an http(s) URL is warned about but "
    "used.",
    hint="Set MONITORKIT_BASE_URL to the address the status page is served under, e.g. "
    "'https://example.com/monitor'.",
    section="schedules-and-alerts",
    shown_type="`str` (http or https URL)",
    checked_by="monitorkit.alerts",
)
ALERT_ROUTES: Setting[tuple[Any, ...]] = Setting(
    name="MONITORKIT_ALERT_ROUTES",
    check_id="monitorkit.W241",
    rule=entries,
    default=tuple,
    shown_default="[] (every command's alerts go to every channel)",
    meaning="Where the alerts of the command ids a pattern matches go, who owns them, their "
    "runbook, repeats and escalation: a list of dicts with `match` (an `fnmatch` pattern of "
    "command ids) and any of `channels`, `owner`, `runbook`, `realert_every`, "
    "`escalate_after`, `escalate_to`. The first route that matches applies; a command's own "
    "declaration wins over it, key by key (see "
    "[Routing](schedules-and-alerts.md#routing-owners-and-runbooks)).",
    hint='Use MONITORKIT_ALERT_ROUTES = [{"match": "billing_*", "channels": ["email"], '
    '"owner": "billing team"}].',
    section="schedules-and-alerts",
    shown_type="`list` of dicts",
    checked_by="monitorkit.health.routing",
    deeper_checks="`W242`, `W243`",
)
ALERT_LEASE = Setting(
    name="MONITORKIT_ALERT_LEASE",
    check_id="monitorkit.W019",
    rule=seconds(DAY, "one day"),
    default=lambda: 300.0,
    shown_default="300",
    meaning="How long an alert a watcher claimed stays its own; after that another watcher may "
    "send it (a watcher killed while sending). Above 0, at most a day.",
    hint="Set MONITORKIT_ALERT_LEASE to more than your notifiers can take to send, e.g. 300.",
    section="schedules-and-alerts",
    shown_type="seconds",
)
ALERT_RETRY_FOR = Setting(
    name="MONITORKIT_ALERT_RETRY_FOR",
    check_id="monitorkit.W029",
    rule=seconds(7 * DAY, "one week"),
    default=lambda: 3600.0,
    shown_default="3600",
    meaning="How long a channel that failed to deliver an alert is tried again (30 s after the "
    "failure, then waits that double: 1, 2, 4 ... minutes); after that it is given up and the "
    "alert reported `failed` on it (see "
    "[Alerts](schedules-and-alerts.md#delivery-per-channel)). Above 0, at most a week.",
    hint="Set MONITORKIT_ALERT_RETRY_FOR to a number of seconds, e.g. 3600 (an hour).",
    section="schedules-and-alerts",
    shown_type="seconds",
)
MAINTENANCE: Setting[tuple[Any, ...]] = Setting(
    name="MONITORKIT_MAINTENANCE",
    check_id="monitorkit.W301",
    rule=entries,
    default=tuple,
    shown_default="[]",
    meaning="Recurring maintenance windows: while one lasts, the alerts of the command ids its "
    "`match` pattern matches are held (health is still judged and shown), and once it ends "
    "one summary per command id says what happened meanwhile (see [Snooze and maintenance "
    "windows](schedules-and-alerts.md#snooze-and-maintenance-windows)). Each window: `match` "
    "(a command id or `fnmatch` pattern), `cron` (when it starts, five fields), `duration` "
    "(seconds), and optionally `timezone` (IANA; `TIME_ZONE` by default) and `reason`.",
    hint='Use MONITORKIT_MAINTENANCE = [{"match": "import_*", "cron": "0 2 * * 0", '
    '"duration": 7200, "timezone": "Europe/Paris", "reason": "weekly database upgrade"}].',
    section="schedules-and-alerts",
    shown_type="`list` of dicts with `match`, `cron`, `duration`, `timezone`, `reason`",
    checked_by="monitorkit.health.maintenance",
    deeper_checks="`W302` … `W305`",
)

WATCHER_INTERVAL = Setting(
    name="MONITORKIT_WATCHER_INTERVAL",
    check_id="monitorkit.W032",
    rule=seconds(DAY, "one day"),
    default=lambda: DEFAULT_WATCHER_INTERVAL,
    shown_default=f"{DEFAULT_WATCHER_INTERVAL:g}",
    meaning=(
        "Seconds between two `monitor_watch` cycles: the loop's `--interval` when none is "
        "given, and how often a watcher run by cron (`--once`, which stores no interval of its "
        "own) is expected. When schedules or alerts need a watcher and no cycle ended for twice "
        "the interval (a loop's own `--interval`, or this), the page shows a banner, "
        "`monitor_status` a warning, `monitorkit_watcher_silent` is 1 and each monitored "
        "command logs one warning (see [The watcher is "
        "watched](schedules-and-alerts.md#the-watcher-is-watched)). Above 0, at most a day."
    ),
    hint="Set MONITORKIT_WATCHER_INTERVAL to the seconds between watcher cycles (the cron "
    "period of monitor_watch --once), e.g. 60.",
    section="schedules-and-alerts",
    shown_type="seconds",
)
WATCHER_PING_URL: Setting[str | None] = Setting(
    name="MONITORKIT_WATCHER_PING_URL",
    check_id="monitorkit.W033",
    rule=secret_url,
    default=lambda: None,
    shown_default="none (no ping)",
    meaning=(
        "A URL `monitor_watch` requests (`GET`, with `MONITORKIT_HTTP_TIMEOUT`) after each "
        "cycle that went through: point a dead man's switch you already have at it (a "
        "healthchecks.io or Cronitor check, a Dead Man's Snitch), and it tells you when the "
        "watcher stops, even when the store is down too. A failed ping is logged and costs "
        "nothing else. Its path and query are a credential: no message shows them, nor the "
        "value."
    ),
    hint="Give the ping URL of a check at healthchecks.io, Cronitor, Dead Man's Snitch or your "
    "own, e.g. MONITORKIT_WATCHER_PING_URL = os.environ['WATCHER_PING_URL'].",
    section="schedules-and-alerts",
    shown_type="`str` (http or https URL)",
)

SLOW_FACTOR = Setting(
    name="MONITORKIT_SLOW_FACTOR",
    check_id="monitorkit.W020",
    rule=number_between(1.0, 1000.0, "a factor of the p95 duration"),
    default=lambda: 1.5,
    shown_default="1.5",
    meaning="A run longer than its command's p95 duration times this is flagged *slow*. Above "
    "1, at most 1000.",
    hint="Set MONITORKIT_SLOW_FACTOR to a number above 1, e.g. 1.5.",
    section="status-page",
    shown_type="number",
)
FAST_FRACTION = Setting(
    name="MONITORKIT_FAST_FRACTION",
    check_id="monitorkit.W021",
    rule=number_between(0.0, 1.0, "a fraction of the median duration"),
    default=lambda: 0.1,
    shown_default="0.1",
    meaning="A run that finished in less than its command's median duration times this is "
    "flagged *suspiciously fast*. Above 0, at most 1.",
    hint="Set MONITORKIT_FAST_FRACTION to a fraction between 0 and 1, e.g. 0.1.",
    section="status-page",
    shown_type="number",
)
METRICS_TOKEN: Setting[str | None] = Setting(
    name="MONITORKIT_METRICS_TOKEN",
    check_id="monitorkit.W022",
    rule=secret_text,
    default=lambda: None,
    shown_default="none (the metrics endpoint answers 404)",
    meaning="The bearer token the Prometheus endpoint asks for: "
    "`Authorization: Bearer <token>`. Read it from the environment; it is never shown in a "
    "message.",
    hint="Set MONITORKIT_METRICS_TOKEN to a long random string, e.g. from "
    "secrets.token_urlsafe(32), read from the environment.",
    section="status-page",
    shown_type="`str`",
)
METRICS_IDS: Setting[tuple[str, ...]] = Setting(
    name="MONITORKIT_METRICS_IDS",
    check_id="monitorkit.W030",
    rule=name_patterns,
    default=lambda: ("*",),
    shown_default="['*'] (every id)",
    meaning='The command ids the metrics endpoint exports, e.g. `["sync_*", "clearsessions"]`: '
    "an id with parameters in it (`import__day_2026_01_02`) makes new series for each value, "
    "so bound them here. Patterns match the whole id, case kept; the metric "
    "`monitorkit_commands_unexported` counts the ids left out.",
    hint="Give a list of command ids or patterns, e.g. ['sync_*', 'clearsessions']: ids with "
    "parameters in them make a new series for each value.",
    section="status-page",
    shown_type="`list[str]` of command ids or `fnmatch` patterns",
)
BADGES_PUBLIC = Setting(
    name="MONITORKIT_BADGES_PUBLIC",
    check_id="monitorkit.W034",
    rule=boolean(),
    default=lambda: False,
    shown_default="False",
    meaning="`True` also answers the status badges without a token, at "
    "`badges/all.svg` and `badges/<command id>.svg` (and `.json`), for a project whose command "
    "ids and healths may be seen by anyone. The badges with a token (`manage.py monitor_badge` "
    "prints them) work either way (see [Badges](status-page.md#badges)).",
    hint="Set MONITORKIT_BADGES_PUBLIC = True or MONITORKIT_BADGES_PUBLIC = False.",
    section="status-page",
    shown_type="`bool`",
)
PAGE_REFRESH = Setting(
    name="MONITORKIT_PAGE_REFRESH",
    check_id="monitorkit.W023",
    rule=seconds(3600.0, "one hour"),
    default=lambda: 5.0,
    shown_default="5",
    meaning="How often an open page asks for fresh data (`?refresh=<seconds>` overrides it per "
    "page). Above 0, at most an hour.",
    hint="Set MONITORKIT_PAGE_REFRESH to the seconds between page updates, e.g. 5.",
    section="status-page",
    shown_type="seconds",
)
AUTO = Setting(
    name="MONITORKIT_AUTO",
    check_id="monitorkit.W024",
    rule=boolean(),
    default=lambda: False,
    shown_default="False",
    meaning="`True` monitors every management command (Django's own and third-party ones) with "
    "no code change, except those excluded below. Needs `monitorkit` in `INSTALLED_APPS`.",
    hint="Set MONITORKIT_AUTO = True or MONITORKIT_AUTO = False.",
    section="reach",
    shown_type="`bool`",
)
AUTO_INCLUDE: Setting[tuple[str, ...]] = Setting(
    name="MONITORKIT_AUTO_INCLUDE",
    check_id="monitorkit.W025",
    rule=name_patterns,
    default=lambda: ("*",),
    shown_default="['*']",
    meaning="The commands auto mode monitors.",
    hint="Give a list of command names or patterns, e.g. ['import_*', 'clearsessions'].",
    section="reach",
    shown_type="list of command names or `fnmatch` patterns",
)
AUTO_EXCLUDE: Setting[tuple[str, ...]] = Setting(
    name="MONITORKIT_AUTO_EXCLUDE",
    check_id="monitorkit.W026",
    rule=name_patterns,
    default=lambda: DEFAULT_AUTO_EXCLUDE,
    shown_default="monitorkit.conf.DEFAULT_AUTO_EXCLUDE",
    meaning="The commands auto mode leaves alone; an exclusion wins over an inclusion. Setting "
    "it replaces the default list (listed in [auto.md](auto.md)): write "
    '`[*DEFAULT_AUTO_EXCLUDE, "my_command"]` to add to it.',
    hint="Give a list of command names or patterns; to add to the default list, write "
    "[*monitorkit.conf.DEFAULT_AUTO_EXCLUDE, 'my_command'].",
    section="reach",
    shown_type="list of command names or `fnmatch` patterns",
)
OUTPUT_TAIL_KB = Setting(
    name="MONITORKIT_OUTPUT_TAIL_KB",
    check_id="monitorkit.W027",
    rule=whole_number(MAX_OUTPUT_TAIL_KB),
    default=lambda: DEFAULT_OUTPUT_TAIL_KB,
    shown_default=str(DEFAULT_OUTPUT_TAIL_KB),
    meaning="Kilobytes of the end of what a run writes (to `self.stdout`/`self.stderr` and "
    "`sys.stdout`/`sys.stderr`) kept with its record; `0` keeps none and leaves the streams "
    f"alone. From 0 to {MAX_OUTPUT_TAIL_KB}.",
    hint=f"Set MONITORKIT_OUTPUT_TAIL_KB to a whole number from 0 to {MAX_OUTPUT_TAIL_KB}, e.g. "
    f"{DEFAULT_OUTPUT_TAIL_KB}.",
    section="reach",
    shown_type="`int`",
)
OUTPUT_TAIL_EXCLUDE: Setting[tuple[str, ...]] = Setting(
    name="MONITORKIT_OUTPUT_TAIL_EXCLUDE",
    check_id="monitorkit.W028",
    rule=name_patterns,
    default=lambda: (),
    shown_default="[]",
    meaning="Commands whose output tail is never kept (their runs are recorded without it), "
    "added to `monitorkit.conf.ALWAYS_OUTPUT_TAIL_EXCLUDE`: "
    + ", ".join(f"`{name}`" for name in ALWAYS_OUTPUT_TAIL_EXCLUDE[:-1])
    + f" and `{ALWAYS_OUTPUT_TAIL_EXCLUDE[-1]}`, which print settings or data. Add the commands "
    'of your own that print secrets or personal data, e.g. `["export_users", "dump_*"]`. See '
    "[Output tail](output.md#commands-whose-output-is-never-kept).",
    hint="Give a list of command names or patterns, e.g. ['export_users', 'dump_*'].",
    section="reach",
    shown_type="list of command names or `fnmatch` patterns",
)
RELEASE: Setting[str | None] = Setting(
    name="MONITORKIT_RELEASE",
    check_id="monitorkit.W036",
    rule=release_text,
    default=lambda: None,
    shown_default="none (the first of the environment variables "
    + ", ".join(RELEASE_VARIABLES)
    + " that is set)",
    meaning="The release every run is recorded with (beside its Python and Django versions), "
    "shown on the run's page and in alerts: a commit, a tag or the project's version, e.g. "
    '`importlib.metadata.version("myproject")`. Unset, it is read from the environment; '
    "either way once per process. See [Records](records.md#release-and-cost).",
    hint="Set MONITORKIT_RELEASE to the deployed release as a string, e.g. "
    "os.environ.get('GIT_SHA') or importlib.metadata.version('myproject'), or leave it unset.",
    section="reach",
    shown_type="`str`",
)

#: Every declaration, in the order of docs/configuration.md.
SETTINGS: tuple[Setting[Any], ...] = (
    RUN,
    TESTING,
    FIREBASE,
    FIREBASE_KEY,
    DATABASE,
    DATABASE_ALIAS,
    STORE,
    REPORTERS,
    INTERVAL,
    STALE_AFTER,
    FLUSH_TIMEOUT,
    HTTP_TIMEOUT,
    RETRY_ATTEMPTS,
    RETENTION,
    TRACEBACK_LIMIT,
    QUEUE_SIZE,
    SPOOL_DIR,
    SPOOL_MAX_FILES,
    SCHEDULES,
    MONITOR_MODULES,
    ALERTS,
    BASE_URL,
    ALERT_ROUTES,
    ALERT_LEASE,
    ALERT_RETRY_FOR,
    MAINTENANCE,
    WATCHER_INTERVAL,
    WATCHER_PING_URL,
    SLOW_FACTOR,
    FAST_FRACTION,
    METRICS_TOKEN,
    METRICS_IDS,
    BADGES_PUBLIC,
    PAGE_REFRESH,
    AUTO,
    AUTO_INCLUDE,
    AUTO_EXCLUDE,
    OUTPUT_TAIL_KB,
    OUTPUT_TAIL_EXCLUDE,
    RELEASE,
)
NOWHERE_TO_SEND = "monitorkit.W001"


class MonitorSettings:
    """Typed access to monitorkit's settings; each property falls back to its default."""

    @property
    def run(self) -> bool:
        """``FIREBASE_MONITORING_RUN = False`` switches monitoring off for the whole project."""
        return RUN.value()

    @property
    def testing(self) -> bool:
        """``TESTING = True`` switches monitoring off, as django-command-monitor did."""
        return TESTING.value()

    @property
    def enabled(self) -> bool:
        return self.run and not self.testing

    @property
    def interval(self) -> float:
        """Seconds between heartbeats (``FIREBASE_MONITORING_INTERVAL_PING``)."""
        return INTERVAL.value()

    @property
    def stale_after(self) -> float:
        """Seconds without a heartbeat after which an unfinished run counts as killed."""
        return STALE_AFTER.value()

    @property
    def flush_timeout(self) -> float:
        """The most a command waits at exit for its last records to be delivered."""
        return FLUSH_TIMEOUT.value()

    @property
    def retention(self) -> int:
        """How many runs are kept per command id."""
        return RETENTION.value()

    @property
    def queue_size(self) -> int:
        return QUEUE_SIZE.value()

    @property
    def traceback_limit(self) -> int:
        """Characters of traceback kept in a record (the end of it, where the error is)."""
        return TRACEBACK_LIMIT.value()

    @property
    def retry_attempts(self) -> int:
        """Deprecated (``MONITORKIT_RETRY_ATTEMPTS``): retries now run until the flush bound."""
        return RETRY_ATTEMPTS.value()

    @property
    def http_timeout(self) -> tuple[float, float]:
        """``(connect, read)`` seconds for every HTTP request a reporter makes."""
        return HTTP_TIMEOUT.value()

    @property
    def firebase(self) -> dict[str, Any] | None:
        """The ``FIREBASE_MONITORING`` dict, or ``None`` when Firebase is not configured."""
        return FIREBASE.value()

    @property
    def firebase_key(self) -> str:
        return FIREBASE_KEY.value()

    @property
    def database(self) -> bool:
        """Whether runs are stored in the project's own database.

        ``MONITORKIT_DATABASE`` decides when set; by default the database is written exactly
        when it is the store (``MONITORKIT_STORE``, or by default when Firebase is not
        configured) and ``monitorkit`` is an installed app.
        """
        chosen = DATABASE.value()
        if chosen is None:
            store = self.store
            chosen = store == DATABASE_STORE if store is not None else self.firebase is None
        return chosen and self.app_installed

    @property
    def store(self) -> str | None:
        """The dotted path of the store's class (``MONITORKIT_STORE``); ``None``: by default."""
        return STORE.value()

    @property
    def database_alias(self) -> str:
        return DATABASE_ALIAS.value()

    @property
    def extra_reporters(self) -> list[str]:
        """Dotted paths of reporter classes added to every monitored command."""
        return REPORTERS.value()

    @property
    def spool_dir(self) -> str:
        """Where undelivered records wait (``MONITORKIT_SPOOL_DIR``; a per-project default)."""
        return SPOOL_DIR.value()

    @property
    def spool_max_files(self) -> int:
        """The most records the spool holds (``MONITORKIT_SPOOL_MAX_FILES``)."""
        return SPOOL_MAX_FILES.value()

    @property
    def alert_lease(self) -> float:
        """Seconds a watcher's claim on an alert lasts (``MONITORKIT_ALERT_LEASE``)."""
        return ALERT_LEASE.value()

    @property
    def alert_retry_for(self) -> float:
        """Seconds a failed channel is retried for (``MONITORKIT_ALERT_RETRY_FOR``)."""
        return ALERT_RETRY_FOR.value()

    @property
    def watcher_interval(self) -> float:
        """Seconds between two watcher cycles (``MONITORKIT_WATCHER_INTERVAL``)."""
        return WATCHER_INTERVAL.value()

    @property
    def watcher_ping_url(self) -> str | None:
        """The URL the watcher requests after each cycle (``MONITORKIT_WATCHER_PING_URL``)."""
        return WATCHER_PING_URL.value()

    @property
    def slow_factor(self) -> float:
        """A run longer than its command's p95 times this is slow (``MONITORKIT_SLOW_FACTOR``)."""
        return SLOW_FACTOR.value()

    @property
    def fast_fraction(self) -> float:
        """A run shorter than its median times this is fast (``MONITORKIT_FAST_FRACTION``)."""
        return FAST_FRACTION.value()

    @property
    def metrics_token(self) -> str | None:
        """The metrics endpoint's bearer token (``MONITORKIT_METRICS_TOKEN``); ``None``: off."""
        return METRICS_TOKEN.value()

    @property
    def metrics_ids(self) -> tuple[str, ...]:
        """Command ids or patterns the metrics endpoint exports (``MONITORKIT_METRICS_IDS``)."""
        return METRICS_IDS.value()

    @property
    def badges_public(self) -> bool:
        """Whether badges are answered without a token (``MONITORKIT_BADGES_PUBLIC``)."""
        return BADGES_PUBLIC.value()

    @property
    def page_refresh(self) -> float:
        """Seconds between two updates of the status page (``MONITORKIT_PAGE_REFRESH``)."""
        return PAGE_REFRESH.value()

    @property
    def auto(self) -> bool:
        """Whether every management command is monitored (``MONITORKIT_AUTO``)."""
        return AUTO.value()

    @property
    def auto_include(self) -> tuple[str, ...]:
        """Command names or patterns auto mode monitors (``MONITORKIT_AUTO_INCLUDE``)."""
        return AUTO_INCLUDE.value()

    @property
    def auto_exclude(self) -> tuple[str, ...]:
        """Command names or patterns auto mode leaves alone (``MONITORKIT_AUTO_EXCLUDE``)."""
        return AUTO_EXCLUDE.value()

    @property
    def output_tail_bytes(self) -> int:
        """How much of the end of a run's output its record keeps; 0: none."""
        return OUTPUT_TAIL_KB.value() * 1024

    @property
    def output_tail_exclude(self) -> tuple[str, ...]:
        """Commands whose output tail is never kept: the fixed ones, then the setting's."""
        return ALWAYS_OUTPUT_TAIL_EXCLUDE + OUTPUT_TAIL_EXCLUDE.value()

    @property
    def app_installed(self) -> bool:
        from django.apps import apps

        return apps.is_installed("monitorkit")


monitor_settings = MonitorSettings()


def problems() -> list[Problem]:
    """Return every problem with the current settings (empty when all is well).

    Those of a setting with ``checked_by`` are left to that module, which says them with the
    problems it finds inside the value (see :class:`Setting`).
    """
    found = [
        problem
        for setting in SETTINGS
        if setting.checked_by is None and (problem := setting.problem()) is not None
    ]
    settings = monitor_settings
    if settings.enabled and not (
        settings.firebase or settings.database or settings.extra_reporters or settings.store
    ):
        found.append(
            Problem(
                NOWHERE_TO_SEND,
                "Monitored commands have nowhere to send their runs.",
                "Add 'monitorkit' to INSTALLED_APPS to store runs in the project's database, "
                "or configure FIREBASE_MONITORING.",
            )
        )
    return found


_warned_lock = threading.Lock()
_warned: set[tuple[str, ...]] = set()


def warn_once() -> None:
    """Log the current settings problems once per process, as one warning."""
    found = problems()
    if not found:
        return
    key = tuple(p.id + p.msg for p in found)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    lines = "; ".join(f"{p.id}: {p.msg} {p.hint}" for p in found)
    logger.warning("monitorkit settings need attention (the command runs anyway): %s", lines)
