"""``CommandRun``: one row per run, for the embedded store (``reporters/database.py``)."""

from __future__ import annotations

from django.db import models

from .record import Status


class CommandRun(models.Model):
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

    class Meta:
        ordering = ["-started"]
        constraints = [
            models.UniqueConstraint(fields=["command_id", "seq"], name="monitorkit_run_seq_unique")
        ]
        verbose_name = "command run"

    def __str__(self) -> str:
        return f"{self.command_id} #{self.seq} {self.status}"
