"""When each command id should run, and how long it may take: its :class:`Expectation`.

A command declares it on its class (``monitor_schedule``, ``monitor_timezone``,
``monitor_start_margin``, ``monitor_max_runtime``, ``monitor_alert_after``,
``monitor_notify_recovery``, ``monitor_muted``, and where its alerts go: ``monitor_channels``,
``monitor_owner``, ``monitor_runbook``, ``monitor_realert_every``, ``monitor_escalate_after``,
``monitor_escalate_to``; how it recovers and flaps: ``monitor_recover_after``,
``monitor_flap_threshold``; and what a finished run is expected to be:
``monitor_min_duration``, ``monitor_max_duration``, ``monitor_check``, ``monitor_outliers``,
judged where the run ends: ``monitorkit/expectations.py``; how many runs may be alive at once:
``monitor_concurrency``, ``monitor_when_refused``, ``monitorkit/concurrency.py``);
``MONITORKIT_SCHEDULES = {"<command id>": {"schedule": "0 3 * * *", ...}}`` declares the
same for commands the user does not own and overrides the class key by key;
``monitorkit.monitor(..., schedule=...)`` (:func:`declare`) declares it for any other callable,
when its module is imported: the modules
listed in ``MONITORKIT_MONITOR_MODULES`` are imported by :func:`discover`, so the watcher knows
them without any of them having run. A bad value never stops anything: it is left out (its
default is used) and :func:`problems` words it for ``manage.py check``.

Cron expressions are read by ``cronsim`` in the expectation's time zone, with Debian cron's rules
across DST: a start that falls in the skipped hour runs when the hour resumes (02:30 becomes
03:00), a start in the repeated hour runs once, the first time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.conf import settings

from .. import naming
from ..concurrency import WhenRefused, parse_concurrency, parse_when_refused
from ..conf import MONITOR_MODULES, SCHEDULES, Problem, show
from ..expectations import (
    MetadataCheck,
    parse_check,
    parse_duration_bound,
    parse_outliers,
    parse_seconds,
)

logger = logging.getLogger("monitorkit")

UTC = dt.timezone.utc
#: How late a start may be before it counts as missed. Cron daemons start on the minute, but a
#: busy host, a Kubernetes CronJob pulling its image or Heroku Scheduler may take a few minutes;
#: five is past those and still tells someone about a missed nightly job within minutes.
DEFAULT_START_MARGIN = dt.timedelta(minutes=5)
#: How early a start may be and still count for the next scheduled start (clock skew between the
#: scheduler's host and the store: a 03:00 job seen starting at 02:59:58). Never more than half
#: the time between two starts, so an every-minute job is not taken for early.
EARLY_TOLERANCE = dt.timedelta(seconds=60)
_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_REFERENCE = dt.datetime(2000, 1, 1, tzinfo=UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """Return ``value`` in UTC (naive means UTC, as in ``record.py``)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Rules: each takes a declared value and returns what to use, or raises ValueError saying why.


def parse_schedule(value: Any) -> str | dt.timedelta | None:
    """A cron expression (``@daily`` and the like too), an interval, or ``None``: no schedule."""
    if value is None:
        return None
    if isinstance(value, str):
        expr = " ".join(value.split())
        expr = _NICKNAMES.get(expr.lower(), expr)
        wrong = _cron_problem(expr)
        if wrong is not None:
            raise ValueError(f"{value!r} {wrong}")
        return expr
    interval = parse_seconds(value)
    if interval <= dt.timedelta(0):
        raise ValueError(f"must be a positive interval, not {show(value)}")
    return interval


@functools.lru_cache(maxsize=256)
def _cron_problem(expr: str) -> str | None:
    """Return what is wrong with a cron expression, ``None`` when cronsim reads it.

    Remembered: each declaration's schedule is judged three times a read (its problems, its
    usable values, the expectation's own check), and every page, poll and watcher cycle reads
    every declaration, while a project has a handful of distinct expressions.
    """
    try:
        next(CronSim(expr, _REFERENCE))
    except CronSimError as err:
        return f"is not a cron expression ({err})"
    except StopIteration:
        return "never comes in the next 50 years"
    return None


def parse_timezone(value: Any) -> str | None:
    """An IANA time zone name (or a ``ZoneInfo``); ``None`` means ``TIME_ZONE`` when used."""
    if isinstance(value, ZoneInfo):
        value = value.key
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a time zone name like 'Europe/Paris', not {show(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone") from None
    return value


def parse_margin(value: Any) -> dt.timedelta:
    """Seconds or a timedelta, zero or more."""
    margin = DEFAULT_START_MARGIN if value is None else parse_seconds(value)
    if margin < dt.timedelta(0):
        raise ValueError(f"must not be negative, not {show(value)}")
    return margin


def parse_alert_after(value: Any) -> int:
    """A whole number of failures in a row, 1 or more."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number of 1 or more, not {show(value)}")
    return value


def parse_recover_after(value: Any) -> int:
    """A whole number of successes in a row, 1 or more (1: the first success recovers)."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number of 1 or more, not {show(value)}")
    return value


#: The most changes an hour a ``flap_threshold`` may allow: the changes are counted from the
#: stored transitions, of which every store keeps the newest 100 (``KEPT_TRANSITIONS``), and a
#: flip may come with a change that is not one (``OK`` to ``RUNNING``).
MAX_FLAP_THRESHOLD = 49


def parse_flap_threshold(value: Any) -> int | None:
    """A whole number of changes an hour, 1 to :data:`MAX_FLAP_THRESHOLD`; ``None``: off."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_FLAP_THRESHOLD
    ):
        raise ValueError(
            f"must be a whole number from 1 to {MAX_FLAP_THRESHOLD}, or None, not {show(value)}"
        )
    return value


def _flag(default: bool) -> Callable[[Any], bool]:
    def parse_flag(value: Any) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ValueError(f"must be True or False, not {show(value)}")
        return value

    return parse_flag


def parse_channels(value: Any) -> tuple[str, ...] | None:
    """Channel names (their keys in ``MONITORKIT_ALERTS``): a list of strings, or one string;
    ``None``: every channel."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(name, str) and name for name in value
    ):
        raise ValueError(f"must be a list of channel names, not {show(value)}")
    return tuple(value)


def parse_text(value: Any) -> str | None:
    """Text that goes into every alert (a person, a team, a URL); ``None``: none."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be non-empty text, not {show(value)}")
    return value.strip()


#: Each key: its rule, its check id and the hint of that check.
KEYS: dict[str, tuple[Callable[[Any], Any], str, str]] = {
    "schedule": (
        parse_schedule,
        "monitorkit.W103",
        "Use five cron fields like '0 3 * * *' (or @daily...), or an interval: seconds or a "
        "timedelta.",
    ),
    "timezone": (
        parse_timezone,
        "monitorkit.W104",
        "Use an IANA name such as 'Europe/Paris'; leave it out to use TIME_ZONE.",
    ),
    "start_margin": (
        parse_margin,
        "monitorkit.W105",
        "Use seconds (300) or a timedelta; the default is 5 minutes.",
    ),
    "max_runtime": (
        parse_duration_bound,
        "monitorkit.W106",
        "Use seconds (3600) or a timedelta, or None for no limit.",
    ),
    "alert_after": (parse_alert_after, "monitorkit.W107", "Use a whole number such as 1 or 3."),
    "notify_recovery": (_flag(True), "monitorkit.W108", "Use True or False."),
    "muted": (_flag(False), "monitorkit.W108", "Use True or False."),
    # Routing, repeats and escalation (issue 20): read by ``routing.py`` and ``followup.py``.
    "channels": (
        parse_channels,
        "monitorkit.W141",
        "Use a list of the keys of MONITORKIT_ALERTS, e.g. ['email', 'webhook-2'].",
    ),
    "owner": (parse_text, "monitorkit.W142", "Use text: a person or a team, e.g. 'billing team'."),
    "runbook": (
        parse_text,
        "monitorkit.W142",
        "Use text or a URL, e.g. 'https://wiki.example.com/runbooks/nightly'.",
    ),
    "realert_every": (
        parse_duration_bound,
        "monitorkit.W143",
        "Use seconds (600) or a timedelta, or None for no repeats.",
    ),
    "escalate_after": (
        parse_duration_bound,
        "monitorkit.W143",
        "Use seconds (3600) or a timedelta, or None for no escalation.",
    ),
    "escalate_to": (
        parse_channels,
        "monitorkit.W141",
        "Use a list of the keys of MONITORKIT_ALERTS, e.g. ['pager'].",
    ),
    "recover_after": (
        parse_recover_after,
        "monitorkit.W160",
        "Use a whole number such as 1 (the default: the first success recovers) or 3.",
    ),
    "flap_threshold": (
        parse_flap_threshold,
        "monitorkit.W161",
        f"Use the changes of health an hour above which the command is flapping, from 1 to "
        f"{MAX_FLAP_THRESHOLD} (such as 6), or None (the default) for no flapping notice.",
    ),
    # What a finished run is expected to be (``monitorkit/expectations.py``).
    "min_duration": (
        parse_duration_bound,
        "monitorkit.W130",
        "Use seconds (30) or a timedelta: a finished run shorter than this is unmet.",
    ),
    "max_duration": (
        parse_duration_bound,
        "monitorkit.W130",
        "Use seconds (3600) or a timedelta: a finished run longer than this is unmet.",
    ),
    "check": (
        parse_check,
        "monitorkit.W131",
        "Use a function given the run's record (returning True, False or a reason), or "
        "conditions on its metadata like 'rows > 0 and errors == 0'.",
    ),
    "outliers": (
        parse_outliers,
        "monitorkit.W133",
        "Use 'fast', 'slow', ['fast', 'slow'] or True: the status page's flags that alert.",
    ),
    # How many runs may be alive at once (``monitorkit/concurrency.py``, issue 21).
    "concurrency": (
        parse_concurrency,
        "monitorkit.W170",
        "Use 'allow' (the default), 'forbid' (one run at a time) or a whole number such as 2.",
    ),
    "when_refused": (
        parse_when_refused,
        "monitorkit.W171",
        "Use 'skip' (the default: exit 0) or 'fail' (exit 75 and a line on stderr).",
    ),
}


@dataclasses.dataclass(frozen=True)
class Expectation:
    """When one command id should start, how long it may run, and when to alert about it.

    Every field goes through its rule when built, so a bad value raises ``ValueError`` here;
    declarations read from classes and settings are judged first and never raise.
    """

    command_id: str
    schedule: str | dt.timedelta | None = None
    """A cron expression, an interval between starts, or ``None``: no start is expected."""
    timezone: str | None = None
    """The IANA zone cron is read in; ``None``: Django's ``TIME_ZONE``, read when used."""
    start_margin: dt.timedelta = DEFAULT_START_MARGIN
    max_runtime: dt.timedelta | None = None
    alert_after: int = 1
    notify_recovery: bool = True
    muted: bool = False
    recover_after: int = 1
    """Successes in a row that end a ``FAILING`` or ``STALE`` health (``judge.judge``)."""
    flap_threshold: int | None = None
    """Changes between good and bad health an hour above which it is flapping; ``None``: off."""
    min_duration: dt.timedelta | None = None
    """A finished run shorter than this missed its expectations (``SUSPECT``)."""
    max_duration: dt.timedelta | None = None
    """A finished run longer than this missed its expectations (``SUSPECT``)."""
    check: Callable[[Any], Any] | MetadataCheck | None = None
    """A check of the finished run's record (``monitorkit/expectations.py``)."""
    outliers: tuple[str, ...] | None = None
    """The page's flags (``"fast"``, ``"slow"``) that make a finished run unmet."""
    source: str = ""
    """Where it was declared, for messages."""
    channels: tuple[str, ...] | None = None
    """The channels its alerts go to (``None``: a matching route's, else every channel)."""
    owner: str | None = None
    runbook: str | None = None
    realert_every: dt.timedelta | None = None
    """How often a problem that lasts is told again (``followup.py``); ``None``: never."""
    escalate_after: dt.timedelta | None = None
    escalate_to: tuple[str, ...] | None = None
    concurrency: int | None = None
    """How many runs may be alive at once (``"forbid"``: 1); ``None``: any number."""
    when_refused: WhenRefused = WhenRefused.SKIP
    """What a start refused by ``concurrency`` does: exit 0, or fail with exit code 75."""

    def __post_init__(self) -> None:
        for key, (rule, _, _) in KEYS.items():
            try:
                object.__setattr__(self, key, rule(getattr(self, key)))
            except ValueError as err:
                raise ValueError(f"{self.command_id!r}: {key} {err}") from None

    @property
    def zone(self) -> ZoneInfo:
        """Return the time zone cron expressions are read in."""
        return ZoneInfo(self.timezone or getattr(settings, "TIME_ZONE", None) or "UTC")

    def next_expected(self, after: dt.datetime) -> dt.datetime | None:
        """Return the first scheduled start strictly after ``after``, in UTC.

        ``None`` when nothing is scheduled (no schedule, or a cron expression that never comes).
        """
        after = _aware(after)
        if self.schedule is None:
            return None
        if isinstance(self.schedule, dt.timedelta):
            return after + self.schedule
        starts = CronSim(self.schedule, after.astimezone(self.zone))
        while True:  # cronsim ends its search after 50 years
            try:
                start = next(starts).astimezone(UTC)
            except StopIteration:
                return None
            # In the repeated hour cronsim reads wall time: from 02:20 (the second time) it
            # gives 02:30 (the first), which is before ``after``. Go on to the one after it.
            if start > after:
                return start

    def due_after(self, started: dt.datetime) -> dt.datetime | None:
        """Return the first start still expected after a run that started at ``started``.

        That is the next scheduled start, or the one after it when the run began at most
        :data:`EARLY_TOLERANCE` (and less than half the time between starts) before it: the
        03:00 run seen at 02:59:58 counts for 03:00, so 03:00 does not look missed.
        """
        started = _aware(started)
        first = self.next_expected(started)
        if first is None:
            return None
        second = self.next_expected(first)
        if second is not None and first - started <= min(EARLY_TOLERANCE, (second - first) / 2):
            return second
        return first

    def last_start(self, first: dt.datetime, until: dt.datetime) -> dt.datetime:
        """Return the latest scheduled start from ``first`` (itself one) up to ``until``.

        Walks forward from a window before ``until`` that grows until it holds a start, so a
        watcher that was down for a month does not walk through every minute of it.
        """
        first, until = _aware(first), _aware(until)
        if isinstance(self.schedule, dt.timedelta):
            return first + self.schedule * ((until - first) // self.schedule)
        window = dt.timedelta(hours=1)
        while True:
            cursor = first if until - window <= first else self.next_expected(until - window)
            if cursor is not None and cursor <= until:
                break
            window *= 24
        while (following := self.next_expected(cursor)) is not None and following <= until:
            cursor = following
        return cursor


def judge(
    command_id: str, values: Mapping[str, Any], source: str
) -> tuple[dict[str, Any], list[Problem]]:
    """Return the usable values of one declaration, and a problem for each bad or unknown key."""
    usable: dict[str, Any] = {}
    found: list[Problem] = []
    for key, value in values.items():
        if key not in KEYS:
            found.append(
                Problem(
                    "monitorkit.W102",
                    f"{source} has an unknown key {show(key)} (command {command_id!r}).",
                    f"The keys are: {', '.join(KEYS)}.",
                )
            )
            continue
        rule, check_id, hint = KEYS[key]
        try:
            usable[key] = rule(value)
        except ValueError as err:
            msg = f"{source} (command {command_id!r}): {key} {err}."
            found.append(Problem(check_id, msg, hint))
    low, high = usable.get("min_duration"), usable.get("max_duration")
    if low is not None and high is not None and low > high:
        found.append(
            Problem(
                "monitorkit.W132",
                f"{source} (command {command_id!r}): min_duration ({show(low)}) is more than "
                f"max_duration ({show(high)}): every finished run misses one of them.",
                "Make min_duration the shorter one, or leave one of them out.",
            )
        )
    return usable, found


def expectation_from_values(
    command_id: str, values: Mapping[str, Any], source: str, base: Expectation | None = None
) -> Expectation:
    """Return ``base`` (or the defaults) with the usable ``values`` over it; never raises."""
    usable, _ = judge(command_id, values, source)
    if base is None:
        return Expectation(command_id, **usable, source=source)
    return dataclasses.replace(base, **usable, source=f"{source} over {base.source}")


def class_values(cls: type) -> dict[str, Any]:
    """Return what a command class declares: its ``monitor_*`` attributes that are not None."""
    found = {key: getattr(cls, f"monitor_{key}", None) for key in KEYS}
    return {key: value for key, value in found.items() if value is not None}


def class_command_id(cls: type, name: str) -> str:
    """Return the id a run of ``manage.py <name>`` with no options gets (see mixins/naming.py)."""
    fixed = getattr(cls, "monitor_command_id", None)
    return naming.sanitize_key(str(fixed or getattr(cls, "monitor_command_name", None) or name))


def expectation_from_setting(
    command_id: str, values: Mapping[str, Any], base: Expectation | None = None
) -> Expectation:
    """Return the setting's entry for ``command_id``, over ``base`` key by key."""
    return expectation_from_values(command_id, values, f"{SCHEDULES.name}[{command_id!r}]", base)


#: What ``monitorkit.monitor`` declared, as given: judged when read, like a class's attributes.
_declarations: dict[str, tuple[dict[str, Any], str]] = {}


def declare(command_id: str, values: Mapping[str, Any], source: str) -> None:
    """Declare what a callable's keywords say (``None`` values are not declared); never raises.

    A bad value is logged now, as the declaring module is imported, left out (its default
    applies) and worded again by :func:`problems` for ``manage.py check``.
    """
    declared = {key: value for key, value in values.items() if value is not None}
    if not declared:
        return
    for problem in judge(command_id, declared, source)[1]:
        logger.warning("monitorkit: %s %s", problem.msg, problem.hint)
    _declarations[command_id] = (declared, source)


def _import_monitor_modules() -> list[Problem]:
    """Import the modules of ``MONITORKIT_MONITOR_MODULES``: importing them declares.

    Returns the setting's problems: its declaration's (not a list of strings), then one per
    module that cannot be imported, under the same id.
    """
    found = [problem] if (problem := MONITOR_MODULES.problem()) is not None else []
    for path in MONITOR_MODULES.value():
        try:
            import_module(path)
        except Exception as err:  # noqa: BLE001 - a broken module costs only its declarations
            # The type only: an import error's text may quote a line of source.
            logger.warning(
                "monitorkit: cannot read the schedules of %s: importing it raised %s",
                path,
                type(err).__name__,
            )
            msg = (
                f"{MONITOR_MODULES.name} entry {path!r} cannot be imported ({type(err).__name__})."
            )
            found.append(Problem(MONITOR_MODULES.check_id, msg, MONITOR_MODULES.hint))
    return found


def _command_classes() -> Iterator[tuple[str, type]]:
    """Yield (name, class) for each management command outside Django itself.

    The module is imported and its ``Command`` taken, as ``load_command_class`` does, but not
    instantiated: reading a schedule must not run a command's ``__init__``. A module that
    cannot be imported costs only itself.
    """
    from django.core.management import BaseCommand, get_commands

    for name, app in sorted(get_commands().items()):
        if isinstance(app, BaseCommand):
            yield name, type(app)
            continue
        if app.startswith("django."):
            continue
        module_name = f"{app}.management.commands.{name}"
        try:
            yield name, import_module(module_name).Command
        except Exception as err:  # noqa: BLE001 - a broken command costs only itself
            # The type only: an import error's text may quote a line of source.
            logger.warning(
                "monitorkit: cannot read the schedule of command %r: importing %s raised %s",
                name,
                module_name,
                type(err).__name__,
            )


def _collect() -> tuple[dict[str, Expectation], list[Problem]]:
    """Read every declaration: classes, callables, the registry, then the setting over them."""
    found: dict[str, Expectation] = {}
    problems = _import_monitor_modules()
    declarations = [
        (class_command_id(cls, name), class_values(cls), f"{cls.__module__}.{cls.__qualname__}")
        for name, cls in _command_classes()
    ]
    declarations += [(cid, values, source) for cid, (values, source) in _declarations.items()]
    for command_id, values, source in declarations:
        if not values:
            continue
        if command_id in found:
            problems.append(
                Problem(
                    "monitorkit.W109",
                    f"Command id {command_id!r} is declared by {found[command_id].source} and "
                    f"by {source}; the last is used.",
                    "Give each command its own monitor_command_id, each monitor its own name.",
                )
            )
        problems += judge(command_id, values, source)[1]
        found[command_id] = expectation_from_values(command_id, values, source)
    if (problem := SCHEDULES.problem()) is not None:  # not a dict: its default, {}, is read
        problems.append(problem)
    for key, values in SCHEDULES.value().items():
        if not isinstance(key, str) or not isinstance(values, Mapping):
            problems.append(
                Problem(
                    SCHEDULES.check_id,
                    f"{SCHEDULES.name} maps {show(key)} to {show(values)}: each entry must be a "
                    "command id (a string) mapped to a dict.",
                    SCHEDULES.hint,
                )
            )
            continue
        command_id = naming.sanitize_key(key)
        problems += judge(command_id, values, f"{SCHEDULES.name}[{key!r}]")[1]
        found[command_id] = expectation_from_setting(command_id, values, found.get(command_id))
    return found, problems


def discover() -> dict[str, Expectation]:
    """Return every declared expectation by command id, without any command having run."""
    return _collect()[0]


def problems() -> list[Problem]:
    """Return what is wrong with the declarations, for ``manage.py check`` (warnings only)."""
    return _collect()[1]
