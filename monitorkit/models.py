"""The embedded store's tables: runs, the watcher's health and transitions, its heartbeat."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage
from django.db import models

from .check_command import check_command_is_running
from .status import Status


class OwnModel(models.Model):
    """The base of monitorkit's tables: Django's system checks of them run in ``check`` only.

    Django runs every model's checks before every management command (0.8 % of a no-op's
    instructions for these six tables, benchmark row 15), paid by every command of the project,
    monitored or not. These tables are monitorkit's, not the project's: what the checks could
    find in them changes only with Django's version. So, like monitorkit's schedule and alert
    check, they run where someone asks for them (``monitorkit/check_command.py``): in the
    ``check`` command (``manage.py check``, ``call_command("check")``, Django's test runner).
    Django's checks across models (table and index names shared with the project's) run as ever.
    """

    class Meta:
        abstract = True

    @classmethod
    def check(cls, **kwargs: Any) -> list[CheckMessage]:
        if not check_command_is_running():
            return []
        return super().check(**kwargs)


class CommandRun(OwnModel):
    """One run of one management command, as monitorkit recorded it."""

    command_id = models.CharField(
        max_length=768, help_text="The command id: name plus explicit options."
    )
    seq = models.PositiveIntegerField(help_text="Increases by one with each run of the command id.")
    run_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=255)
    params = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=[(s.value, s.value) for s in Status], db_index=True
    )
    started = models.DateTimeField(db_index=True)
    latest = models.DateTimeField(null=True, blank=True, help_text="The latest heartbeat.")
    finished = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    message = models.TextField(blank=True)
    exception_type = models.CharField(max_length=255, null=True, blank=True)
    traceback = models.TextField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    progress = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    output = models.TextField(
        null=True, blank=True, help_text="The end of what the run printed (the output tail)."
    )
    unmet = models.TextField(
        null=True, blank=True, help_text="Why the finished run missed its expectations."
    )
    release = models.JSONField(
        null=True, blank=True, help_text="What ran: the release, Python and Django versions."
    )
    cost = models.JSONField(
        null=True,
        blank=True,
        help_text="What the run cost: CPU seconds, peak memory, queries per database.",
    )

    class Meta:
        ordering = ["-started"]
        constraints = [
            models.UniqueConstraint(fields=["command_id", "seq"], name="monitorkit_run_seq_unique")
        ]
        verbose_name = "command run"

    def __str__(self) -> str:
        return f"{self.command_id} #{self.seq} {self.status}"


class CommandHealth(OwnModel):
    """What the watcher last concluded about one command id (``monitorkit/health/watch.py``).

    ``number`` counts the transitions so far and is the optimistic lock of the row: a watcher
    stores a transition only by moving ``number`` on from the value it read, so two watchers
    that see the same change store it (and alert) once.
    """

    command_id = models.CharField(max_length=768, unique=True)
    health = models.CharField(max_length=16)
    since = models.DateTimeField(help_text="When the command id entered this health.")
    first_seen = models.DateTimeField(help_text="When a watcher first saw this command id.")
    number = models.PositiveIntegerField(default=0, help_text="Transitions so far.")
    next_expected = models.DateTimeField(null=True, blank=True)
    checked = models.DateTimeField(help_text="The last watcher cycle that looked at it.")
    last_success = models.DateTimeField(
        null=True, blank=True, help_text="When the newest FINISHED run ended (kept past retention)."
    )
    last_failure = models.DateTimeField(
        null=True, blank=True, help_text="When the newest FAILED or SYSTEM_KILL run ended."
    )
    last_completion = models.DateTimeField(
        null=True, blank=True, help_text="When the newest run with an outcome ended."
    )

    class Meta:
        verbose_name = "command health"
        verbose_name_plural = "command health"

    def __str__(self) -> str:
        return f"{self.command_id} {self.health}"


class HealthTransition(OwnModel):
    """One change of a command id's health, and whether its alert went out."""

    command_id = models.CharField(max_length=768)
    number = models.PositiveIntegerField(help_text="1 for the command id's first transition.")
    previous = models.CharField(max_length=16)
    health = models.CharField(max_length=16, db_index=True)
    at = models.DateTimeField(db_index=True)
    run_id = models.CharField(max_length=64, blank=True, help_text="The run it is about.")
    failures_in_row = models.PositiveIntegerField(default=0)
    alert = models.CharField(
        max_length=16,
        default="pending",
        help_text="pending, waiting, sending, retrying, sent, partial, failed, or none "
        "(nothing to send).",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="What the notifiers said.")
    deliveries = models.JSONField(
        default=dict,
        blank=True,
        help_text="Each channel's delivery: state, attempts, first and last try, retry_at, error.",
    )
    payload = models.JSONField(default=dict, blank=True, help_text="The whole transition.")

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["command_id", "number"], name="monitorkit_transition_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.command_id} {self.previous} -> {self.health}"


class WatcherCycle(OwnModel):
    """One watcher's latest cycle: its heartbeat (``monitorkit/health/watcher.py``).

    One row per ``monitor_watch`` process, each written only by its own watcher; readers take
    the newest. A row older than a day is deleted when a new watcher stores its first beat.
    """

    watcher = models.CharField(max_length=64, unique=True, help_text="The watcher's own id.")
    host = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    at = models.DateTimeField(db_index=True, help_text="When its latest cycle ended.")
    interval = models.FloatField(
        null=True, blank=True, help_text="Seconds between its cycles; empty for --once."
    )
    scheduled = models.PositiveIntegerField(
        default=0, help_text="Command ids with a schedule its latest cycle judged."
    )

    class Meta:
        verbose_name = "watcher cycle"

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid} at {self.at}"


class OutcomeCount(OwnModel):
    """How many runs of one command id ended with one outcome: a counter that only goes up.

    Counted by the writer in the transaction that stores a run's first outcome (the row moved
    from an unfinished status, or was first stored finished), so a finish written twice (a kill
    signal, then the command's end; a spooled copy delivered again) counts once, and retention
    deleting old runs takes nothing from it. The metric ``monitorkit_runs_ended_total`` reads it.
    """

    command_id = models.CharField(max_length=768)
    outcome = models.CharField(max_length=16, help_text="FINISHED, FAILED, SYSTEM_KILL or MISSED.")
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["command_id", "outcome"], name="monitorkit_outcome_count_unique"
            )
        ]
        verbose_name = "outcome count"

    def __str__(self) -> str:
        return f"{self.command_id} {self.outcome} {self.count}"


class CommandSnooze(OwnModel):
    """Alerts of the command ids ``pattern`` matches are held from ``start`` to ``until``
    (``monitorkit/snoozes.py``): set by ``monitor_snooze``, the command page, or a watcher for
    an occurrence of a maintenance window. Health is judged as ever meanwhile; once it ends, a
    watcher sends one summary per command id and sets ``closed``.

    Its ``snooze_command`` permission lets a user snooze and end snoozes on the command page.
    """

    snooze_id = models.CharField(max_length=64, unique=True)
    pattern = models.CharField(
        max_length=768, help_text="The command ids it holds: an id, or an fnmatch pattern."
    )
    reason = models.TextField(blank=True)
    who = models.CharField(max_length=255, blank=True, help_text="Who set it.")
    start = models.DateTimeField()
    until = models.DateTimeField(db_index=True)
    closed = models.DateTimeField(
        null=True, blank=True, help_text="When a watcher sent its summaries."
    )

    class Meta:
        ordering = ["start"]
        verbose_name = "command snooze"
        permissions = [("snooze_command", "Can snooze a command's alerts on the status page")]

    def __str__(self) -> str:
        return f"{self.pattern} until {self.until}"
