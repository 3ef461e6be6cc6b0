"""Who watches the watcher: its heartbeat, judged the same way by every reader, and its ping.

Each ``monitor_watch`` cycle ends by storing a beat in the health store
(``HealthStore.record_cycle``: the watcher's id, host and pid, when the cycle ended, its loop's
interval, how many command ids with a schedule it judged) and, when
``MONITORKIT_WATCHER_PING_URL`` is set, by requesting that URL (:func:`ping`), so that a dead
man's switch elsewhere notices when the cycles stop, even when the store is down too.

Every reader judges the newest beat with :func:`judge`: the status page (a banner, the JSON's
``watcher``), the metrics (``monitorkit_watcher_*``), ``monitor_status`` (a warning line) and
each monitored command (one warning per process, :func:`warn_if_silent`). A watcher is
*expected* where it has work: schedules are declared (here, or in the cycles the last watcher
ran) or alerts are configured. An expected watcher is *silent* when no cycle ended within two
intervals (the beat's own, or ``MONITORKIT_WATCHER_INTERVAL`` for a ``--once`` beat, whose cron
period only the settings know), or when no watcher has ever run a cycle on this store.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..record import format_timestamp, utcnow
from .expected import alerts_configured, watcher_expected_here

if TYPE_CHECKING:
    from ..conf import MonitorSettings
    from ..stores.base import Reporter
    from ..stores.health_store import HealthStore, WatcherBeat
    from .schedules import Expectation

logger = logging.getLogger("monitorkit")

#: Intervals without a cycle after which an expected watcher is silent.
SILENT_AFTER_INTERVALS = 2
#: The longest a monitored command's sender spends reading the watcher's beat (its one look).
LOOK_SECONDS = 1.0
#: Where the docs explain it all, for the words of a warning.
DOCS = "docs/schedules-and-alerts.md#the-watcher-is-watched"


@dataclass(frozen=True)
class WatcherHealth:
    """What a reader makes of the newest beat (see the module docstring)."""

    last: WatcherBeat | None
    interval: float
    """Seconds between cycles the judgement counts with."""
    expected: bool
    """Whether anything needs a watcher: schedules are declared, or alerts configured."""
    silent: bool
    now: dt.datetime

    @property
    def due(self) -> dt.datetime | None:
        """When the watcher counts as silent without a new cycle (``None``: it never ran)."""
        if self.last is None:
            return None
        return self.last.at + dt.timedelta(seconds=SILENT_AFTER_INTERVALS * self.interval)

    @property
    def judged_until(self) -> dt.datetime | None:
        """When the newest cycle ended, while a watcher runs (a cycle within two intervals,
        whether or not anything needs one); ``None``: no watcher runs, readers judge."""
        due = self.due
        return (
            self.last.at if self.last is not None and due is not None and self.now <= due else None
        )

    def message(self) -> str:
        """Return what a person must know, in one sentence (empty while all is well)."""
        if not self.silent:
            return ""
        if self.last is None:
            return (
                "No watcher has ever run: nothing judges the schedules or sends alerts. "
                "Run manage.py monitor_watch (a worker, or --once from cron)."
            )
        return (
            f"No watcher has run a cycle since {_when(self.last.at)} (on "
            f"{self.last.host or 'an unknown host'}, every {self.interval:g} s): missed, "
            "failing and stale commands are not being alerted. Start manage.py monitor_watch again."
        )

    def as_json(self) -> dict[str, Any]:
        """Return it for the JSON read API (``watcher`` in ``docs/status-page.md``)."""
        last = self.last
        return {
            "last_cycle": format_timestamp(last.at) if last is not None else None,
            "host": last.host if last is not None else None,
            "pid": last.pid if last is not None else None,
            "interval_seconds": self.interval,
            "due": format_timestamp(self.due),
            "expected": self.expected,
            "silent": self.silent,
            "message": self.message(),
        }


def judge(
    last: WatcherBeat | None, now: dt.datetime, default_interval: float, expected: bool
) -> WatcherHealth:
    """Return the watcher's health from its newest beat (pure: the same for every reader)."""
    interval = last.interval if last is not None and last.interval else default_interval
    quiet = dt.timedelta(seconds=SILENT_AFTER_INTERVALS * interval)
    silent = expected and (last is None or now > last.at + quiet)
    return WatcherHealth(last, interval, expected, silent, now)


def expected_by(expectations: Mapping[str, Expectation], last: WatcherBeat | None) -> bool:
    """Return whether a watcher has work: schedules declared here or seen by the last watcher,
    or alerts configured."""
    scheduled = any(e.schedule is not None for e in expectations.values())
    return scheduled or (last is not None and last.scheduled > 0) or alerts_configured()


def read(
    store: HealthStore | None,
    expectations: Mapping[str, Expectation],
    settings: MonitorSettings,
    now: dt.datetime | None = None,
) -> WatcherHealth | None:
    """Return the watcher's health for a reader (``None``: the store keeps no health, or no
    beats: a store of a project's own written before ``last_cycle`` existed shows no banner
    rather than breaking the page)."""
    if store is None:
        return None
    try:
        last = store.last_cycle()
    except NotImplementedError:
        return None
    return judge(last, now or utcnow(), settings.watcher_interval, expected_by(expectations, last))


# A monitored command's one look, on its sender's thread (``sender.py``).


def warn_if_silent(reporters: Sequence[Reporter], scheduled_here: bool) -> None:
    """Log one warning when the store's watcher is silent; at most one read, bounded, quiet.

    Called once per process by the sender's thread, after a write of the run went through and
    while nothing waits to be sent. What says a watcher is expected, without importing a
    command or ``monitorkit.health.schedules`` and before anything is read: the command's own class
    declares a schedule (``scheduled_here``), ``MONITORKIT_SCHEDULES`` or a
    ``monitorkit.monitor`` already imported declares one, or alerts are configured. (The page
    and the metrics also count the schedules the last watcher judged; a command does not read
    the store to learn them.)
    """
    from .. import retry

    # Nothing read where nothing here needs a watcher: the look may delay the run's outcome by
    # its one read (a round trip on Firebase), which only a project that needs one pays.
    if not watcher_expected_here(scheduled_here):
        return
    reporter = _store_of(reporters)
    store = reporter.health_store() if reporter is not None else None
    if reporter is None or store is None:
        return
    with retry.deadline(time.monotonic() + LOOK_SECONDS):
        last = store.last_cycle()
    found = judge(last, utcnow(), reporter.settings.watcher_interval, True)
    if found.silent:
        logger.warning("monitorkit: %s (see %s)", found.message(), DOCS)


def _store_of(reporters: Sequence[Reporter]) -> Reporter | None:
    """Return the run's reporter that is the project's store (the one the watcher watches)."""
    if not reporters:
        return None
    from ..stores import store_path
    from ..stores.base import reporter_path

    wanted = store_path(reporters[0].settings)
    return next((r for r in reporters if reporter_path(r) == wanted), None)


# The ping (``MONITORKIT_WATCHER_PING_URL``), by the watcher after each cycle.


def ping(url: str, timeout: tuple[float, float]) -> str | None:
    """GET ``url``; return ``None`` when it answered 2xx, else why not (no secret in it).

    The URL's path and query are a credential (a check's UUID, a token): what is said about it
    names only its scheme and host, and any error text is scrubbed of them.
    """
    import requests

    from ..redaction import redact
    from ..version import __version__

    try:
        response = requests.get(
            url, timeout=timeout, headers={"User-Agent": f"monitorkit/{__version__}"}
        )
    except requests.RequestException as err:
        return (
            f"{describe_url(url)} failed: {redact(f'{type(err).__name__}: {err}', _secrets(url))}"
        )
    if 200 <= response.status_code < 300:
        return None
    return f"{describe_url(url)} answered {response.status_code} {response.reason}"


def describe_url(url: str) -> str:
    """Return ``url`` as a log line may show it: ``ping https://hc-ping.com``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"ping {parts.scheme}://{parts.hostname or '?'}{port}"


def _secrets(url: str) -> tuple[str, ...]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    values = (url, parts.path.strip("/"), parts.query, parts.username, parts.password)
    return tuple(value for value in values if value)


def _when(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")
