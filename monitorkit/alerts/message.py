"""What an alert says, built once from a transition for every notifier: text and fields.

An alert tells a person what they need without opening anything: the command id, its new health
(and the one before), the host, when (UTC), the run's release (and, for a failing command, the
releases of its first failure and of its last success), the run's message, the last lines of
its traceback and, when ``MONITORKIT_BASE_URL`` is set, a link to the run's page (the command's
when the transition is about no run), the command's owner and runbook when its route names
them, and for a repeat or an escalation of a lasting problem how long it has lasted and how many
runs failed or starts were missed since it began. Every text passes through :func:`safe_text`,
so no credential reaches an inbox or a chat channel even when a message or a traceback quotes
one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..conf import BASE_URL
from ..healths import Health
from ..record import format_timestamp
from ..redaction import redact
from ..release import release_words
from ..transitions import PROBLEMS, Flapping, Notice, Transition
from ..words import human_duration, human_time

#: Lines of traceback an alert carries: the end, where the error is.
TRACEBACK_LINES = 10
#: Characters of the run's message an alert carries.
MESSAGE_CHARS = 1000


def safe_text(text: str | None, secrets: tuple[str, ...] = ()) -> str | None:
    """Return ``text`` through the one redactor (``monitorkit/redaction.py``) with ``secrets``."""
    return redact(text, secrets) if text else text


def tail(text: str | None, lines: int = TRACEBACK_LINES) -> str | None:
    """Return the last ``lines`` lines of ``text`` (``None`` stays ``None``)."""
    if not text:
        return None
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def status_url(command_id: str, run_id: str | None = None) -> str | None:
    """Return ``<MONITORKIT_BASE_URL>/commands/<command id>/``, or ``None`` when it is unset.

    With ``run_id``: that run's own page, ``.../commands/<command id>/runs/<run id>/``, a
    permanent URL for as long as the run is kept (what an alert about a run links to).
    """
    base = BASE_URL.value()
    if base is None or not base.strip():
        return None
    url = f"{base.strip().rstrip('/')}/commands/{quote(command_id, safe='')}/"
    return f"{url}runs/{quote(run_id, safe='')}/" if run_id else url


def release_lines(transition: Transition, secrets: tuple[str, ...] = ()) -> list[str]:
    """Return what an alert says of releases: the run's, and since which one it fails.

    ``Release: abc123 (Python 3.11.7, Django 5.2.19)``, then for ``FAILING``: ``First failure
    since release abc123; last success on release 9f8e7d6.`` (each part only when known).
    """
    lines = []
    record = transition.record
    ran = release_words(record.release) if record is not None else None
    if ran:
        lines.append(f"Release: {ran}")
    story = []
    if transition.first_failure_release:
        story.append(f"first failure since release {transition.first_failure_release}")
    if transition.last_success_release:
        story.append(f"last success on release {transition.last_success_release}")
    if story:
        text = "; ".join(story)
        lines.append(f"{text[0].upper()}{text[1:]}.")
    return [safe_text(line, secrets) or "" for line in lines]


@dataclass(frozen=True)
class Alert:
    """One transition, worded: a one-line ``title``, the ``text`` and the structured fields."""

    transition: Transition
    title: str
    text: str
    host: str | None
    message: str | None
    exception_type: str | None
    traceback_tail: str | None
    url: str | None
    unmet: str | None = None
    """Why the run missed its expectations (a ``SUSPECT`` command's last run)."""

    def fields(self) -> dict[str, Any]:
        """Return the structured fields of a webhook's JSON body (beside ``text``)."""
        t = self.transition
        record = t.record
        found: dict[str, Any] = {
            "id": t.id,
            "command_id": t.command_id,
            "health": t.health,
            "previous": t.previous,
            "at": format_timestamp(t.at),
            "host": self.host,
            "message": self.message,
            "exception_type": self.exception_type,
            "traceback_tail": self.traceback_tail,
            "url": self.url,
            "failures_in_row": t.failures_in_row,
            "next_expected": format_timestamp(t.next_expected),
            "missed_start": format_timestamp(t.missed_start),
            "run_status": None if record is None else str(record.status),
            "run_started": None if record is None else format_timestamp(record.started),
            "owner": safe_text(t.owner),
            "runbook": safe_text(t.runbook),
            "follow_up": _follow_up_fields(t),
            "flapping": None if t.flapping is None else t.flapping.as_dict(),
            "unmet": self.unmet,
            "release": None if record is None else record.release,
            "first_failure_release": t.first_failure_release,
            "last_success_release": t.last_success_release,
        }
        if t.summary_of is not None:  # a snooze's summary: what happened, and the snooze's id
            found.update(summary=t.summary, snooze=t.summary_of)
        return found


def _follow_up_fields(t: Transition) -> dict[str, Any] | None:
    """Return a follow-up's fields (``None``: the transition is a change, not a follow-up)."""
    f = t.follow_up
    if f is None or t.lasted is None:
        return None
    return {
        "repeat": f.repeat,
        "escalation": f.escalation,
        "since": format_timestamp(f.since),
        "lasted_seconds": t.lasted.total_seconds(),
        "failed_runs": f.failed_runs,
        "missed_starts": f.missed_starts,
    }


def _follow_up_lines(t: Transition) -> tuple[str, list[str]]:
    """Return a follow-up's title and its first lines (``""``, ``[]``: not a follow-up)."""
    f = t.follow_up
    if f is None or t.lasted is None:
        return "", []
    lasted = human_duration(t.lasted.total_seconds())
    kind = "ESCALATION" if f.escalation else "Still"
    numbered = f", repeat {f.repeat}" if f.repeat else ""
    title = f"{kind}: {t.command_id} {t.health} for {lasted}{numbered}"
    lines = [
        f"{'Escalation: ' if f.escalation else ''}{t.command_id} is still {t.health}: for "
        f"{lasted}, since {human_time(f.since)}{f' (repeat {f.repeat})' if f.repeat else ''}.",
        f"Since then: {f.failed_runs} failed run(s), {f.missed_starts} missed start(s).",
    ]
    return title, lines


def _flapping_words(t: Transition, flapping: Flapping, what: str) -> tuple[str, list[str]]:
    """Return the title and first lines of a flapping notice or of the end of one."""
    if flapping.notice is Notice.SETTLED:
        return f"{t.command_id} has settled and {what.split(':')[0]}", [
            f"{t.command_id} has stopped flapping (no change of health for an hour) and {what}.",
            f"Health: {t.health}",
        ]
    return f"{t.command_id} is flapping (now {t.health})", [
        f"{t.command_id} is flapping: its health changed between good and bad "
        f"{flapping.changes} times within an hour. No more alerts are sent about it until it "
        f"settles (an hour without a change, {human_time(flapping.until)} at the earliest); "
        "then one, if it is still wrong.",
        f"Health: {t.health} (was {t.previous})",
    ]


def build_alert(transition: Transition, secrets: tuple[str, ...] = ()) -> Alert:
    """Word ``transition`` for a person; ``secrets`` are masked wherever they appear."""
    t = transition
    record = t.record
    host = t.host or (record.host if record is not None else None)
    message = safe_text(record.message if record is not None else None, secrets)
    if message and len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "\u2026"
    exception_type = record.exception_type if record is not None else None
    # Masked whole, then cut: a secret across the cut (a key block) is masked before it halves.
    trace = tail(safe_text(record.traceback if record is not None else None, secrets))
    # About a run (it failed, overran, went stale, was missed): its own page; else the command's.
    url = status_url(t.command_id, record.run_id if record is not None else None)
    health = Health.of(t.health)
    what = health.words if health is not None else f"is {t.health}"
    title = f"{t.command_id} {what.split(':')[0]} (was {t.previous})"
    lines = [f"{t.command_id} {what}.", f"Health: {t.health} (was {t.previous})"]
    follow_title, follow_lines = _follow_up_lines(t)
    if follow_lines:
        title, lines = follow_title, [*follow_lines, f"Health: {t.health}"]
    if t.flapping is not None:
        title, lines = _flapping_words(t, t.flapping, what)
    if t.summary_of is not None:
        # A snooze's summary (health/silence.py): what happened meanwhile, and the health now.
        now = "still " + t.health if t.health in PROBLEMS else t.health
        title = f"{t.command_id}: snooze ended, {now}"
        lines = [f"{t.command_id}: its snooze ended ({now}).", safe_text(t.summary, secrets) or ""]
        lines.append(f"Health: {t.health}")
    if t.owner:
        lines.append(f"Owner: {safe_text(t.owner, secrets)}")
    if t.runbook:
        lines.append(f"Runbook: {safe_text(t.runbook, secrets)}")
    if t.summary_of is not None:
        pass  # its own words say when: at the snooze's end
    elif t.missed_start is not None:
        lines.append(
            f"Missed start: {human_time(t.missed_start)} (no run had started by {human_time(t.at)})"
        )
    else:
        lines.append(f"When: {human_time(t.at)}")
    lines.append(f"Host: {host or 'unknown'}")
    if t.failures_in_row:
        lines.append(f"Failures in a row: {t.failures_in_row}")
    if t.next_expected is not None:
        lines.append(f"Next expected run: {human_time(t.next_expected)}")
    if record is not None:
        lines.append(
            f"Last run: {record.status} (started {human_time(record.started)}, "
            f"params {safe_text(record.params, secrets) or 'none'})"
        )
    unmet = safe_text(record.unmet if record is not None else None, secrets)
    if unmet:
        lines.append(f"Expectation not met: {unmet}")
    lines += release_lines(t, secrets)
    if message:
        lines.append(f"Message: {message}")
    if exception_type:
        lines.append(f"Exception: {exception_type}")
    if trace:
        lines += ["", f"Traceback (last {TRACEBACK_LINES} lines):", trace]
    if url:
        lines += ["", f"Status page: {url}"]
    return Alert(
        transition=t,
        title=title,
        text="\n".join(lines),
        host=host,
        message=message,
        exception_type=exception_type,
        traceback_tail=trace,
        url=url,
        unmet=unmet,
    )
