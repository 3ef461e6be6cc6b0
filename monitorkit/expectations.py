"""What a finished run is expected to be: bounds on its duration and a check of its record.

Declared per command id with the schedule's keys (``min_duration``, ``max_duration``,
``check``: ``monitor_<key>`` on a command class, ``MONITORKIT_SCHEDULES[id][key]``,
``monitorkit.monitor(..., key=...)``) and judged where the run ends: on the sender's thread,
just before the run's outcome is written (``recording/sender.py``), never on the command's. A
``FINISHED`` run that misses one is stored with ``unmet`` saying which (its status stays
``FINISHED``), and the judge calls its command ``SUSPECT``.

``check`` is either a callable given a copy of the finished :class:`~monitorkit.record.RunRecord`
(a non-empty string: unmet, for that reason; anything else truthy: met; falsy, ``None`` and
``""`` too: unmet), or
conditions on the record's metadata in a small language read here, never evaluated as Python:
``"rows > 0"``, ``"rows >= 10 and errors == 0"``, ``'mode == "full"'``. Each condition is a
metadata key, one of ``> >= < <= == !=`` and a JSON literal (a number, a double-quoted string,
``true``, ``false`` or ``null``); ``and`` joins them. The ordering operators need a number on
both sides; a key the metadata lacks fails its condition.

A check that raises, or that takes longer than :func:`check_bound`, is logged on the
``monitorkit`` logger and counts as "could not check": the run is stored without ``unmet``
(a monitoring fault is not the command's fault). A callable runs on a thread of its own,
which the sender waits for at most the bound; a check that never returns is left behind on
its daemon thread.

Only the standard library and ``conf`` are imported: a command that declares no such
expectation never imports this module (``mixins/expectations.py`` reads its attributes).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .conf import show

logger = logging.getLogger("monitorkit")

#: The keys of an outcome expectation, as ``monitor_<key>`` and in ``MONITORKIT_SCHEDULES``.
OUTCOME_KEYS = ("min_duration", "max_duration", "check", "outliers")
#: The status page's flags (``usual.py``) that ``outliers`` can turn into an unmet run.
OUTLIERS = ("fast", "slow")
#: The longest the sender waits for a callable check, in seconds: within the flush bound a
#: command waits at its end (3 s by default), so a slow check never costs a record.
CHECK_SECONDS = 1.0

Check = Callable[[Any], Any]


def check_bound(flush_timeout: float) -> float:
    """Return how long a callable check may take: :data:`CHECK_SECONDS`, at most half the
    flush bound (the other half is for the outcome's write)."""
    return min(CHECK_SECONDS, flush_timeout / 2)


def parse_seconds(value: Any) -> dt.timedelta:
    """Seconds (a finite number, not a bool) or a timedelta: the rule of every duration a
    command declares, here and in ``health/schedules.py``."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"must be a number of seconds or a timedelta, not {show(value)}")
    return dt.timedelta(seconds=value)


def parse_duration_bound(value: Any) -> dt.timedelta | None:
    """Seconds or a timedelta, more than zero; ``None`` means no bound (or no limit, no
    repeat: ``max_runtime``, ``realert_every`` and ``escalate_after`` read the same)."""
    if value is None:
        return None
    bound = parse_seconds(value)
    if bound <= dt.timedelta(0):
        raise ValueError(f"must be more than zero, not {show(value)}")
    return bound


# The metadata language: ``<key> <op> <JSON literal>``, joined by ``and``.
_CONDITION = re.compile(
    r'\s*(?P<key>[A-Za-z_][\w.-]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)'
)
_AND = re.compile(r"\s+and\s+")
_ORDERING = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
_EQUALITY = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class MetadataCheck:
    """Conditions on a run's metadata, read from text like ``"rows > 0 and errors == 0"``.

    Built by :func:`parse_check`, which raises ``ValueError`` saying what is wrong; calling it
    with a record returns ``None`` (met) or the reason it is not.
    """

    __slots__ = ("conditions", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        conditions: list[tuple[str, str, Any, str]] = []
        position = 0
        while True:
            found = _CONDITION.match(text, position)
            if found is None:
                raise ValueError(
                    f"{text!r}: expected a condition like 'rows > 0' at {text[position:]!r}"
                )
            key, op, literal = found.group("key", "op", "value")
            try:
                value = json.loads(literal)
            except ValueError:
                raise ValueError(
                    f"{text!r}: {literal!r} is not a number, a double-quoted string, true, "
                    "false or null"
                ) from None
            if op in _ORDERING and not _number(value):
                raise ValueError(f"{text!r}: {op} needs a number, not {literal}")
            conditions.append((key, op, value, f"{key} {op} {literal}"))
            position = found.end()
            if not text[position:].strip():
                break
            joined = _AND.match(text, position)
            if joined is None:
                raise ValueError(f"{text!r}: expected 'and' at {text[position:].strip()!r}")
            position = joined.end()
        self.conditions = tuple(conditions)

    def __repr__(self) -> str:
        return f"MetadataCheck({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetadataCheck) and other.conditions == self.conditions

    def __hash__(self) -> int:
        return hash(self.conditions)

    def __call__(self, record: Any) -> str | None:
        """Return ``None`` when every condition holds, else why the first that fails does not."""
        metadata = getattr(record, "metadata", None) or {}
        for key, op, expected, words in self.conditions:
            if key not in metadata:
                return f"metadata has no {key}, expected {words}"
            actual = metadata[key]
            if op in _ORDERING:
                held = _number(actual) and _ORDERING[op](actual, expected)
            else:
                held = _EQUALITY[op](actual, expected)
            if not held:
                return f"{key} = {_shown(actual)}, expected {words}"
        return None


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)[:80]
    except (TypeError, ValueError):
        return show(value)


def parse_check(value: Any) -> Check | MetadataCheck | None:
    """A callable given the finished record, or conditions on its metadata (``"rows > 0"``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return MetadataCheck(value)
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ValueError(
        "must be a callable given the run's record, or conditions on its metadata like "
        f"'rows > 0', not {show(value)}"
    )


def parse_outliers(value: Any) -> tuple[str, ...] | None:
    """``"fast"``, ``"slow"``, both (a list, or ``True``), or ``None``/``False``: which of the
    page's flags make a finished run unmet."""
    if value is None or value is False:
        return None
    if value is True:
        return OUTLIERS
    names = (value,) if isinstance(value, str) else value
    try:
        chosen = tuple(names)
    except TypeError:
        chosen = ()
    if not chosen or any(name not in OUTLIERS for name in chosen):
        raise ValueError(f"must be 'fast', 'slow', both (a list) or True, not {show(value)}")
    return tuple(name for name in OUTLIERS if name in chosen)


#: Each key's rule, as ``schedules.KEYS`` lists it: its check id and hint live there.
RULES: dict[str, Callable[[Any], Any]] = {
    "min_duration": parse_duration_bound,
    "max_duration": parse_duration_bound,
    "check": parse_check,
    "outliers": parse_outliers,
}


class Usual:
    """What is usual for a command's finished runs, for ``outliers``: the p50 and p95 the page
    shows (``usual.Durations``) and the page's rule (``MONITORKIT_SLOW_FACTOR``,
    ``MONITORKIT_FAST_FRACTION``), so a run alerted as fast or slow is the one flagged there."""

    __slots__ = ("durations", "fast_fraction", "slow_factor")

    def __init__(self, durations: Any, slow_factor: float, fast_fraction: float) -> None:
        self.durations = durations
        self.slow_factor = slow_factor
        self.fast_fraction = fast_fraction

    def reasons(self, record: Any, outliers: tuple[str, ...]) -> list[str]:
        """Return why ``record`` is an outlier the command alerts on (``[]``: it is not)."""
        from .usual import FAST, SLOW, flags

        usual = self.durations
        found = flags(record, usual, self.slow_factor, self.fast_fraction)
        reasons = []
        if SLOW in found and SLOW in outliers:
            reasons.append(
                f"ran {_duration_words(record.duration)}, slower than usual (more than p95 "
                f"{_duration_words(usual.p95)} x {self.slow_factor:g})"
            )
        if FAST in found and FAST in outliers:
            reasons.append(
                f"ran {_duration_words(record.duration)}, faster than usual (less than p50 "
                f"{_duration_words(usual.p50)} x {self.fast_fraction:g})"
            )
        return reasons


def _duration_words(seconds: float) -> str:
    return f"{round(seconds, 3):g} s"


def _check_name(check: Any) -> str:
    return str(getattr(check, "__name__", None) or type(check).__name__)


class OutcomeExpectation:
    """What one command's finished runs are expected to be (``None`` fields: not expected).

    A plain slotted class, as the record's are: it is built on the command's side.
    """

    __slots__ = ("check", "max_duration", "min_duration", "outliers")

    def __init__(
        self,
        min_duration: dt.timedelta | None = None,
        max_duration: dt.timedelta | None = None,
        check: Check | MetadataCheck | None = None,
        outliers: tuple[str, ...] | None = None,
    ) -> None:
        self.min_duration = min_duration
        self.max_duration = max_duration
        self.check = check
        self.outliers = outliers

    def __repr__(self) -> str:
        return (
            f"OutcomeExpectation(min_duration={self.min_duration!r}, "
            f"max_duration={self.max_duration!r}, check={self.check!r}, "
            f"outliers={self.outliers!r})"
        )

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> OutcomeExpectation | None:
        """Return the usable ones of ``values`` (``OUTCOME_KEYS``), or ``None`` when none is.

        A bad value is left out silently here, at each run: ``manage.py check`` words it.
        """
        usable: dict[str, Any] = {}
        for key in OUTCOME_KEYS:
            try:
                usable[key] = RULES[key](values.get(key))
            except ValueError:
                usable[key] = None
        if all(value is None for value in usable.values()):
            return None
        return cls(**usable)

    def unmet(self, record: Any, bound: float, usual: Usual | None = None) -> str | None:
        """Return why a finished ``record`` misses this expectation, or ``None``; never raises.

        ``bound``: the seconds a callable check may take (:func:`check_bound`); ``usual``: the
        command's usual durations, read for ``outliers`` only (``None``: not known).
        """
        reasons: list[str] = []
        duration = record.duration
        if duration is not None:
            low, high = self.min_duration, self.max_duration
            if low is not None and duration < low.total_seconds():
                reasons.append(
                    f"ran {_duration_words(duration)}, expected at least "
                    f"{_duration_words(low.total_seconds())}"
                )
            if high is not None and duration > high.total_seconds():
                reasons.append(
                    f"ran {_duration_words(duration)}, expected at most "
                    f"{_duration_words(high.total_seconds())}"
                )
        if self.outliers and usual is not None and duration is not None:
            reasons += usual.reasons(record, self.outliers)
        if self.check is not None:
            reason = self._run_check(record, bound)
            if reason:
                reasons.append(reason)
        return "; ".join(reasons) or None

    def _run_check(self, record: Any, bound: float) -> str | None:
        check = self.check
        if isinstance(check, MetadataCheck):
            try:
                return check(record)
            except Exception:
                logger.exception("monitorkit could not check run %s", record.run_id)
                return None
        answer: list[Any] = []
        failed: list[BaseException] = []

        def run() -> None:
            try:
                answer.append(check(record.snapshot()))  # type: ignore[misc]
            except BaseException as err:  # noqa: BLE001 - reported below, never raised
                failed.append(err)

        thread = threading.Thread(target=run, name="monitorkit-check", daemon=True)
        thread.start()
        thread.join(bound)
        if thread.is_alive():
            logger.warning(
                "monitorkit: the check %s of command %r took longer than %g s; run %s is "
                "stored without it",
                _check_name(check),
                record.id,
                bound,
                record.run_id,
            )
            return None
        if failed:
            err = failed[0]
            logger.error(
                "monitorkit: the check %s of command %r raised %s; run %s is stored without it",
                _check_name(check),
                record.id,
                type(err).__name__,
                record.run_id,
                exc_info=(type(err), err, err.__traceback__),
            )
            return None
        result = answer[0] if answer else None
        if isinstance(result, str) and result.strip():
            return result.strip()
        if result:
            return None
        return f"the check {_check_name(check)} returned {show(result)}"
