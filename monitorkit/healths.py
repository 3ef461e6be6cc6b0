"""The healths of a command id, and what each one means to every part that shows or tells it.

A health is judged by ``health.py``; what follows from it (is it a problem, does the watcher
alert on it, which signal it sends, how an alert words it, how alarming it looks) is a trait of
the health here, read by the watcher, the transitions, the notifiers, the signals and the
pages, so a new health is this module and its signal in ``signals.py``. No dependency: the
run record's module and the transitions read it without pulling in the judge or schedules.
"""

from __future__ import annotations

import enum


class Tone(str, enum.Enum):
    """How alarming a health looks: chat notifiers' kinds and the page's badges follow it."""

    GOOD = "good"
    """All is well: a recovery, when it is news."""
    INFO = "info"
    """Nothing wrong, nothing to tell (a new command, a run under way)."""
    WARNING = "warning"
    """Worth a look, maybe not yet a failure."""
    FAILURE = "failure"
    """Something a person must act on."""

    def __str__(self) -> str:
        return self.value


class Health(str, enum.Enum):
    """What a person needs to know about a command id at a glance; the values are stored.

    Each member carries its traits: ``problem`` (leaving it for a healthy health is a
    recovery), ``healthy`` (good news: OK, a run under way), ``alerts`` (the watcher alerts on
    entering it, ``FAILING`` after ``alert_after`` failures in a row), ``words`` (how an alert
    finishes "<command> ..."), ``tone``, and ``urgency`` (the order a person should look at
    them in: 0 first).
    """

    problem: bool
    healthy: bool
    alerts: bool
    words: str
    tone: Tone
    urgency: int

    def __new__(
        cls,
        value: str,
        problem: bool,
        healthy: bool,
        alerts: bool,
        tone: Tone,
        urgency: int,
        words: str,
    ) -> Health:
        member = str.__new__(cls, value)
        member._value_ = value
        member.problem = problem
        member.healthy = healthy
        member.alerts = alerts
        member.tone = tone
        member.urgency = urgency
        member.words = words
        return member

    # name = value, problem, healthy, alerts, tone, urgency, words
    FAILING = (
        "FAILING",
        True,
        False,
        True,
        Tone.FAILURE,
        0,
        "is failing: its last run failed",
    )
    MISSED = (
        "MISSED",
        True,
        False,
        True,
        Tone.FAILURE,
        1,
        "missed its run: no run started by the expected time plus its margin",
    )
    STALE = (
        "STALE",
        True,
        False,
        True,
        Tone.FAILURE,
        2,
        "is stale: its running run has stopped sending heartbeats",
    )
    OVERRUNNING = (
        "OVERRUNNING",
        True,
        False,
        True,
        Tone.WARNING,
        3,
        "is overrunning: its run has taken longer than its maximum runtime",
    )
    SUSPECT = (
        "SUSPECT",
        True,
        False,
        True,
        Tone.WARNING,
        4,
        "is suspect: its last run finished but did not meet its expectations",
    )
    LATE = (
        "LATE",
        True,
        False,
        False,
        Tone.WARNING,
        5,
        "is late: its expected run has not started yet",
    )
    OVERLAPPING = (
        "OVERLAPPING",
        False,
        True,
        False,
        Tone.INFO,
        6,
        "is overlapping: more than one of its runs is alive at once",
    )
    """Runs under way that overlap: allowed (``monitor_concurrency = "allow"``, the default),
    so no problem; a limit prevents it (``monitorkit/concurrency.py``)."""
    RUNNING = ("RUNNING", False, True, False, Tone.INFO, 7, "is running again")
    OK = ("OK", False, True, False, Tone.GOOD, 8, "is OK again")
    NEW = ("NEW", False, False, False, Tone.INFO, 9, "is new: it has not run yet")

    def __str__(self) -> str:
        return str(self._value_)

    @classmethod
    def of(cls, value: object) -> Health | None:
        """Return the health named by ``value`` (a member or its stored name), else ``None``."""
        found = cls._value2member_map_.get(str(getattr(value, "value", value)))
        return found if isinstance(found, cls) else None
