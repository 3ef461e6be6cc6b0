"""One watcher cycle: read every command id's runs, judge its health, store what changed, alert.

``manage.py monitor_watch`` runs cycles (``--once`` for cron or a Kubernetes CronJob, a loop for
a worker). Each cycle:

1. delivers what waits in the spool (records a backend could not take in time);
2. reads the expectations (``schedules.discover``), the newest runs of every command id and the
   stored health of each, a fixed number of queries however many ids there are: the inputs
   every page reads too (``overview.judge_inputs``);
3. judges each id (``overview.judge_one``, as every page does), and where the health changed
   stores the transition (conditionally: of two watchers, one stores it), writes the ``MISSED``
   record of a start that never came, and sends the transition's Django signal;
4. sends the alerts still open, each claimed first under a lease, so two watchers never send one
   twice and a watcher killed mid-cycle leaves nothing lost: the next cycle takes it up. Each
   channel's delivery is stored (``delivery.py``): a channel that delivered is never sent the
   transition again, one that failed is retried by later cycles with backoff, for
   ``MONITORKIT_ALERT_RETRY_FOR`` seconds, then given up.

   A snoozed command id's alerts stay open, unsent, while the snooze (or maintenance window)
   lasts; once it ends, one summary per command id is stored and sent (``silence.py``).

5. stores its own heartbeat (``HealthStore.record_cycle``) and, with
   ``MONITORKIT_WATCHER_PING_URL``, requests that URL: who watches the watcher
   (``watcher_health.py``).

Which transitions alert: ``MISSED``, ``FAILING`` (once ``alert_after`` runs in a row failed),
``OVERRUNNING`` and ``STALE``; a recovery to ``OK``/``RUNNING`` when the problem was alerted and
``notify_recovery`` is on, through the channels that delivered the problem (and only those: a
channel never told of the problem hears of neither). ``LATE`` only sends its signal (it is
within its margin). A muted command id alerts nothing. A health that does not change alerts
nothing again, unless its command asks for repeats (``realert_every``) or an escalation
(``escalate_after``): those follow-ups are stored as transitions from the health to itself
(``followup.py``), and alerted as every transition is.

Where each alert goes is its command's route (``routing.py``: its own ``channels``, or the
first ``MONITORKIT_ALERT_ROUTES`` entry that matches its id, else every channel), with its
``owner`` and ``runbook``; an escalation goes to ``escalate_to`` too; a recovery goes to the
channels that delivered the problem or one of its follow-ups, wherever the route points now.

A command with a ``flap_threshold`` that changes too often sends one flapping notice, then
nothing until it settles, then one alert if it is still wrong (``flapping.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import delivery
from ..conf import MonitorSettings, monitor_settings
from ..record import RunRecord, Status, format_timestamp, utcnow
from ..stores.base import Reporter
from ..stores.health_store import (
    NONE,
    PENDING,
    SENDING,
    WAITING,
    HealthState,
    HealthStore,
    OpenAlert,
    WatcherBeat,
)
from ..transitions import PROBLEMS, FollowUp, Notice, Transition
from ..words import human_time
from . import flapping, followup, silence
from .judge import Assessment, Health
from .overview import judge_inputs, judge_one
from .releases import FailureReleases, failure_releases
from .routing import Declared, Route, read_routes, route_for
from .schedules import Expectation, discover

if TYPE_CHECKING:
    from ..alerts import Notifier

logger = logging.getLogger("monitorkit")

#: Healths whose transition alerts (FAILING only past its command's ``alert_after``).
ALERTING = frozenset(h.value for h in Health if h.alerts)
#: Alert states of a transition no channel has been tried with yet (``_follow_up`` waits).
UNTRIED = frozenset({WAITING, PENDING, SENDING})
#: Spooled records a cycle delivers at most.
SPOOL_BATCH = 100


@dataclass
class AlertTry:
    """What one cycle's tries of one alert did, channel by channel."""

    transition_id: str
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    """Channels that failed and will be tried again by a later cycle."""
    given_up: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Return it in words: ``sent by webhook, failed on email (will retry)``."""
        return delivery.describe_cycle(self.sent, self.retrying, self.given_up)


@dataclass
class CycleReport:
    """What one cycle did, for the command's output and for tests."""

    checked: int = 0
    transitions: list[Transition] = field(default_factory=list)
    follow_ups: list[Transition] = field(default_factory=list)
    """The repeats and escalations of lasting problems this cycle stored (``followup.py``)."""
    alerts: list[AlertTry] = field(default_factory=list)
    """The alerts this cycle tried to send, and what each channel did."""
    spool_delivered: int = 0
    beat: WatcherBeat | None = None
    """The heartbeat the cycle stored (``None``: it could not)."""
    ping_error: str | None = None
    """Why ``MONITORKIT_WATCHER_PING_URL`` was not reached (``None``: reached, or not set)."""
    summaries: list[Transition] = field(default_factory=list)
    """The summaries of ended snoozes this cycle stored (``silence.py``)."""

    def describe_alerts(self) -> str:
        """Return the alerts in words: ``1 alert(s) sent by webhook, failed on email (will
        retry)``, one clause per distinct outcome; ``0 alert(s) sent`` when none was tried."""
        outcomes: dict[str, int] = {}
        for alert in self.alerts:
            outcomes[alert.describe()] = outcomes.get(alert.describe(), 0) + 1
        clauses = [f"{count} alert(s) {words}" for words, count in outcomes.items()]
        return "; ".join(clauses) or "0 alert(s) sent"


def once_id(host: str) -> str:
    """Return the id a ``--once`` watcher beats under: one per host, so cron's watcher runs keep
    one record between them (a loop's id is new for each process: two may run on one host)."""
    return f"once@{host}"[:64]


class Watcher:
    """Judge every command id of one store and alert, one cycle at a time."""

    def __init__(
        self,
        reporter: Reporter,
        store: HealthStore,
        notifiers: Sequence[Notifier] | None = None,
        *,
        settings: MonitorSettings = monitor_settings,
        clock: Callable[[], dt.datetime] = utcnow,
        interval: float | None = None,
    ) -> None:
        self.reporter = reporter
        self.store = store
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock
        self.interval = interval
        """Seconds the loop waits between cycles, stored with each beat; ``None``: ``--once``."""
        self.host = socket.gethostname()
        self.id = uuid.uuid4().hex if interval is not None else once_id(self.host)
        self._configured: dict[str, Reporter] | None = None
        self._routes: list[Declared] = []
        """``MONITORKIT_ALERT_ROUTES``, read once a cycle."""
        self._newest: dict[str, tuple[int, dt.datetime]] = {}
        """Each lasting problem's newest transition this watcher read or stored: its number
        and time. While the stored number is the same, no cycle reads it again."""
        self._silences = silence.Silences()

    def cycle(self) -> CycleReport:
        """Run one cycle (see the module docstring); errors of one id cost only that id.

        The heartbeat and the ping come last, so they say that a whole cycle went through; a
        cycle that fails before (the store cannot be read) neither beats nor pings.
        """
        report = CycleReport()
        report.spool_delivered = self._deliver_spool()
        now = self.clock()
        expectations = discover()
        self._routes = read_routes()[0]
        runs, states = judge_inputs(self.reporter, expectations, self.store)
        assessments: dict[str, Assessment] = {}
        for command_id in sorted(set(runs) | set(expectations)):
            report.checked += 1
            try:
                assessments[command_id] = self._judge(
                    command_id,
                    expectations.get(command_id),
                    runs.get(command_id, []),
                    states.get(command_id),
                    now,
                    report,
                )
            except Exception:
                logger.exception("monitorkit watcher could not judge %r", command_id)
        self._silences = self._quieten(now)
        report.summaries = self._summarise(set(runs) | set(expectations), expectations, assessments)
        self._alert(expectations, assessments, report)
        self._beat(expectations, report)
        return report

    def _beat(self, expectations: dict[str, Expectation], report: CycleReport) -> None:
        """Store this watcher's heartbeat, then ping ``MONITORKIT_WATCHER_PING_URL``."""
        scheduled = sum(1 for e in expectations.values() if e.schedule is not None)
        beat = WatcherBeat(self.id, self.host, os.getpid(), self.clock(), self.interval, scheduled)
        try:
            self.store.record_cycle(beat)
            report.beat = beat
        except Exception:
            logger.exception("monitorkit watcher could not store its heartbeat")
        url = self.settings.watcher_ping_url
        if url is not None:
            from .watcher import ping

            report.ping_error = ping(url, self.settings.http_timeout)
            if report.ping_error is not None:
                logger.warning("monitorkit watcher could not ping: %s", report.ping_error)

    # Snoozes and maintenance windows.
    def _quieten(self, now: dt.datetime) -> silence.Silences:
        """Return the snoozes of this cycle (none when they cannot be read: alerts then go)."""
        try:
            return silence.read(self.store, now)
        except Exception:
            logger.exception("monitorkit watcher could not read the snoozes")
            return silence.Silences()

    def _summarise(
        self,
        command_ids: set[str],
        expectations: dict[str, Expectation],
        assessments: dict[str, Assessment],
    ) -> list[Transition]:
        """Store the summaries of the snoozes that ended (``silence.summarise``)."""
        try:
            return silence.summarise(
                self.store,
                self.reporter,
                self._silences,
                command_ids,
                expectations,
                assessments,
                self.host,
            )
        except Exception:
            logger.exception("monitorkit watcher could not summarise the snoozes that ended")
            return []

    # Judging.
    def _judge(
        self,
        command_id: str,
        expectation: Expectation | None,
        history: list[RunRecord],
        state: HealthState | None,
        now: dt.datetime,
        report: CycleReport,
    ) -> Assessment:
        first_seen = state.first_seen if state is not None else now
        # The same judgement, from the same inputs, as every page (``overview.judge_one``):
        # a retry running after FAILING or STALE keeps the stored health until its outcome.
        found = judge_one(expectation, history, state, now, self.settings.stale_after)
        health = found.health.value
        if state is None:
            first = HealthState(command_id, health, now, now, 0, found.next_expected)
            first = first.with_runs(history)
            if health not in PROBLEMS:
                self.store.record_first_sight(first)
                return found
            state = dataclasses.replace(first, health=Health.NEW.value)
            self.store.record_first_sight(state)  # then the problem is a transition from NEW
        if found.missed_at is not None and expectation is not None:
            # Written before the transition: a watcher killed in between leaves the record,
            # which keeps the health MISSED, and the next cycle stores the transition.
            self.reporter.store_missed(
                self._missed_record(command_id, found.missed_at, expectation)
            )
        # The last success, failure and completion move on with the runs judged, and stay in
        # the health row when retention has deleted those runs.
        seen = state.with_runs(history)
        if health == state.health:
            refreshed = dataclasses.replace(seen, next_expected=found.next_expected)
            if found.next_expected != state.next_expected or seen is not state:
                self.store.update_state(refreshed)
            self._follow_up(refreshed, expectation, found, history, now, report)
            return found
        releases = self._failure_releases(command_id, health)
        transition = Transition(
            command_id=command_id,
            previous=state.health,
            health=health,
            at=self._evidence_time(health, found, history, expectation, first_seen),
            record=found.last_run,
            host=found.last_run.host if found.last_run is not None else self.host,
            failures_in_row=found.failures_in_row,
            next_expected=found.next_expected,
            missed_start=(found.missed_at or _newest_missed(history))
            if health == "MISSED"
            else None,
            first_failure_release=releases.first_failure,
            last_success_release=releases.last_success,
        )
        if expectation is not None and expectation.flap_threshold is not None:
            threshold = expectation.flap_threshold
            recent = self.store.transitions(command_id, flapping.read_depth(threshold))
            found_flapping = flapping.classify(transition, recent, threshold)
            transition = dataclasses.replace(transition, flapping=found_flapping)
        after = dataclasses.replace(
            seen,
            health=health,
            since=transition.at,
            number=state.number + 1,
            next_expected=found.next_expected,
        )
        alert = self._alert_state(transition, expectation)
        if self.store.record_transition(state, after, transition, alert):
            report.transitions.append(transition)
            from ..signals import send_transition

            send_transition(transition)
        return found

    def _follow_up(
        self,
        state: HealthState,
        expectation: Expectation | None,
        found: Assessment,
        history: list[RunRecord],
        now: dt.datetime,
        report: CycleReport,
    ) -> None:
        """Store the repeat or escalation of a lasting problem that is due (``followup.py``).

        Stored as a transition from the health to itself under the next number, by the same
        conditional write as every transition: of two watchers, one stores it. Nothing is
        read before its first one can be due; nothing is made for a muted command, nor while
        the newest alert (the problem's, or the last follow-up's) was never tried: waiting for
        ``alert_after``, or not yet sent (a follow-up would supersede it unsent).
        """
        if state.health not in ALERTING or (expectation is not None and expectation.muted):
            return
        if self._silences.holds(state.command_id):
            return  # snoozed: its summary at the end says what happened meanwhile
        route = route_for(state.command_id, expectation, self._routes)
        first = followup.first_due(state.since, route.realert_every, route.escalate_after)
        if first is None or now < first:
            return
        known = self._newest.get(state.command_id)
        if known is None or known[0] != state.number:
            newest = self.store.transitions(state.command_id, limit=1)
            if not newest:
                return
            number, last, alert = newest[0]
            if number != state.number or last.health != state.health:
                return  # another watcher moved the state on meanwhile: the next cycle looks
            if alert in UNTRIED:
                return  # nobody was told of it yet: its own alert comes first
            known = self._newest[state.command_id] = (number, last.at)
        due = followup.due(state.since, known[1], now, route.realert_every, route.escalate_after)
        if due is None:
            return
        margin = expectation.start_margin if expectation is not None else dt.timedelta(0)
        problem_start = state.since - margin if state.health == "MISSED" else state.since
        failed, missed = followup.counts(history, problem_start, found.missed_at)
        transition = Transition(
            command_id=state.command_id,
            previous=state.health,
            health=state.health,
            at=due.at,
            record=found.last_run,
            host=found.last_run.host if found.last_run is not None else self.host,
            failures_in_row=found.failures_in_row,
            next_expected=found.next_expected,
            missed_start=(found.missed_at or _newest_missed(history))
            if state.health == "MISSED"
            else None,
            follow_up=FollowUp(state.since, due.repeat, due.escalation, failed, missed),
        )
        after = dataclasses.replace(state, number=state.number + 1)
        if self.store.record_transition(state, after, transition, PENDING):
            report.follow_ups.append(transition)

    def _failure_releases(self, command_id: str, health: str) -> FailureReleases:
        """Return a ``FAILING`` transition's releases (``releases.py``): one read of the runs."""
        if health != "FAILING":
            return FailureReleases(None, None)
        try:
            return failure_releases(self.reporter.command_history(command_id))
        except Exception:  # the alert goes out without them
            logger.exception("monitorkit watcher could not read the releases of %r", command_id)
            return FailureReleases(None, None)

    def _evidence_time(
        self,
        health: str,
        found: Assessment,
        history: list[RunRecord],
        expectation: Expectation | None,
        first_seen: dt.datetime,
    ) -> dt.datetime:
        """Return when the health changed, from the evidence: the same for every watcher."""
        run = found.last_run
        margin = expectation.start_margin if expectation is not None else dt.timedelta(0)
        if health == "MISSED":
            missed = found.missed_at or _newest_missed(history)
            return (missed or first_seen) + margin
        if health == "LATE" and found.next_expected is not None:
            return found.next_expected
        if run is None:
            return first_seen
        if health == "OVERRUNNING" and expectation and expectation.max_runtime:
            return run.started + expectation.max_runtime
        if health == "STALE":
            return (run.latest or run.started) + dt.timedelta(seconds=self.settings.stale_after)
        if health in ("RUNNING", "OVERLAPPING"):
            return run.started
        return run.finished or run.latest or run.started

    def _missed_record(
        self, command_id: str, expected: dt.datetime, expectation: Expectation
    ) -> RunRecord:
        """Return the ``MISSED`` record of an expected start; its run id is the same for all."""
        key = f"{command_id}|MISSED|{format_timestamp(expected)}".encode()
        margin = expectation.start_margin.total_seconds()
        return RunRecord(
            id=command_id,
            name=command_id.split("__", 1)[0],
            params="",
            run_id=hashlib.sha256(key).hexdigest()[:32],
            host=self.host,
            pid=None,  # the watcher's process is not the run's: a missed start has none
            started=expected,
            status=Status.MISSED,
            latest=expected,
            finished=expected,
            message=(
                f"Missed: no run started by {human_time(expected + expectation.start_margin)}"
                f" (expected at {human_time(expected)}, margin {margin:g} s)"
            ),
        )

    # Alerting.
    def _alert_state(self, transition: Transition, expectation: Expectation | None) -> str:
        if expectation is not None and expectation.muted:
            return NONE
        if transition.notice is Notice.QUIET:
            return WAITING  # open while quiet, so that a cycle sees it settle
        if transition.notice is Notice.FLAPPING:
            return PENDING
        if transition.health == "FAILING":
            needed = expectation.alert_after if expectation is not None else 1
            return PENDING if transition.failures_in_row >= needed else WAITING
        if transition.health in ALERTING:
            return PENDING
        if transition.is_recovery:
            wanted = expectation.notify_recovery if expectation is not None else True
            return PENDING if wanted else NONE
        return NONE

    def _alert(
        self,
        expectations: dict[str, Expectation],
        assessments: dict[str, Assessment],
        report: CycleReport,
    ) -> None:
        open_alerts = self.store.open_alerts()
        if not open_alerts:
            return
        notifiers = self._notifiers()
        for alert in open_alerts:
            try:
                self._handle_alert(alert, expectations, assessments, notifiers, report)
            except Exception:
                logger.exception("monitorkit watcher could not alert %s", alert.transition.id)

    def _handle_alert(
        self,
        alert: OpenAlert,
        expectations: dict[str, Expectation],
        assessments: dict[str, Assessment],
        notifiers: Sequence[Notifier],
        report: CycleReport,
    ) -> None:
        transition = alert.transition
        expectation = expectations.get(transition.command_id)
        now = self.clock()
        if expectation is not None and expectation.muted:
            self.store.settle_alert(alert, NONE, "muted", now)
            return
        if transition.summary_of is None and self._silences.holds(transition.command_id):
            return  # snoozed: held open until the snooze's summaries are stored (silence.py)
        if transition.flapping is not None and transition.flapping.carried and not alert.deliveries:
            carried = self._carried(alert, now)
            if carried is None:
                return  # the notice it carries is being sent: look next cycle
            alert = carried
        if transition.notice in (Notice.FLAPPING, Notice.QUIET) and self._while_flapping(
            alert, expectations, assessments, notifiers, report
        ):
            return
        if alert.state == WAITING:
            found = assessments.get(transition.command_id)
            needed = expectation.alert_after if expectation is not None else 1
            if found is None or found.failures_in_row < needed:
                return  # still below the command's alert_after: look again next cycle
            transition = dataclasses.replace(transition, failures_in_row=found.failures_in_row)
        from ..alerts import channels

        route = route_for(transition.command_id, expectation, self._routes)
        transition = dataclasses.replace(transition, owner=route.owner, runbook=route.runbook)
        targets = targets_before = channels(notifiers)
        # A flapping notice goes where the command's alerts go (its route), whichever change
        # it came with: a recovery's channels are those told of the problem.
        if transition.is_recovery and transition.notice is not Notice.FLAPPING:
            told = self._told_channels(transition, alert.number, targets, now)
            if told is None:
                return  # another watcher is sending the problem right now: look next cycle
            if not told:
                self.store.settle_alert(alert, NONE, "the problem was never alerted", now)
                return
            targets = {name: n for name, n in targets.items() if name in told}
        else:
            targets = _routed(route, targets, transition)
        if not targets and not alert.deliveries:
            why = "no notifiers (MONITORKIT_ALERTS)"
            if transition.is_recovery:
                why = "the channels told of the problem are not configured any more"
            elif targets_before:
                why = "its route names none of the channels (MONITORKIT_ALERT_ROUTES, channels)"
            self.store.settle_alert(alert, NONE, why, now)
            return
        due = [
            name
            for name in targets
            if name not in alert.deliveries or alert.deliveries[name].is_due(now)
        ]
        removed = [
            name
            for name, d in alert.deliveries.items()
            if name not in targets and d.state == delivery.PENDING
        ]
        if not due and not removed:
            return  # every channel delivered, gave up, or waits for its retry time
        if not self.store.claim_alert(alert, now, self.settings.alert_lease):
            return  # another watcher is sending it
        self._send(alert, transition, {name: targets[name] for name in due}, removed, report)

    def _send(
        self,
        alert: OpenAlert,
        transition: Transition,
        due: dict[str, Notifier],
        removed: list[str],
        report: CycleReport,
    ) -> None:
        """Send a claimed alert through the channels due, and store each one's delivery."""
        from ..alerts import send_one

        deliveries = dict(alert.deliveries)
        tried = AlertTry(transition.id)
        for name, notifier in due.items():
            error = send_one(transition, notifier)
            done = delivery.after_attempt(
                deliveries.get(name),
                self.clock(),
                None if error is None else str(error),
                self.settings.alert_retry_for,
            )
            deliveries[name] = done
            if done.state == delivery.SENT:
                tried.sent.append(name)
            elif done.state == delivery.PENDING:
                tried.retrying.append(name)
            else:
                tried.given_up.append(name)
        now = self.clock()
        for name in removed:
            deliveries[name] = delivery.gone(deliveries[name], now)
            tried.given_up.append(name)
        state = delivery.alert_state(deliveries)
        if transition.notice is Notice.FLAPPING and state != delivery.AlertState.RETRYING:
            state = WAITING  # open until the command settles (``_while_flapping``)
        self.store.settle_alert(alert, state, delivery.describe(deliveries), now, deliveries)
        report.alerts.append(tried)

    def _carried(self, alert: OpenAlert, now: dt.datetime) -> OpenAlert | None:
        """Return a carried flapping notice with the channels the notice before it delivered
        to counted as sent (those are not sent it again); ``None`` while a watcher's claim on
        that one holds (which channels it reaches is not known yet).

        Until this alert is first sent it is read again each cycle (one read): only a notice
        whose channels were all told already waits so, and only until it settles.
        """
        earlier = self.store.alert(alert.transition.command_id, alert.number - 1)
        if earlier is None:
            return alert
        lease = dt.timedelta(seconds=self.settings.alert_lease)
        if earlier.claimed_at is not None and earlier.claimed_at + lease > now:
            return None
        told = {n: d for n, d in earlier.deliveries.items() if d.state == delivery.SENT}
        return dataclasses.replace(alert, deliveries=told)

    def _while_flapping(
        self,
        alert: OpenAlert,
        expectations: dict[str, Expectation],
        assessments: dict[str, Assessment],
        notifiers: Sequence[Notifier],
        report: CycleReport,
    ) -> bool:
        """Handle the open alert of a flapping command's newest transition; ``False``: a
        flapping notice has channels to send to, which the usual path does.

        Quiet until ``Flapping.until``; then :meth:`_settle` it, and send what that stored.
        """
        from ..alerts import channels

        transition = alert.transition
        assert transition.flapping is not None
        now = self.clock()
        if transition.notice is Notice.FLAPPING:
            if any(name not in alert.deliveries for name in channels(notifiers)):
                return False  # the notice is still to be sent
            if any(d.state == delivery.PENDING for d in alert.deliveries.values()):
                return False  # a channel retries the notice
        if now < transition.flapping.until:
            return True  # quiet
        expectation = expectations.get(transition.command_id)
        found = assessments.get(transition.command_id)
        settled = self._settle(alert, expectation, found, now)
        if settled is not None:
            self._handle_alert(settled, expectations, assessments, notifiers, report)
        return True

    def _settle(
        self,
        alert: OpenAlert,
        expectation: Expectation | None,
        found: Assessment | None,
        now: dt.datetime,
    ) -> OpenAlert | None:
        """End a command's flapping: store its ``SETTLED`` transition, which alerts its health
        if that is a problem (one watcher stores it: ``record_transition``), or, when there is
        nothing to alert, close the flapping alert.

        Returns the alert of the ``SETTLED`` transition when this watcher stored it.
        """
        transition = alert.transition
        state = self.store.states().get(transition.command_id)
        if state is None or state.number != alert.number:
            return None  # a later transition came: it superseded this alert
        record = found.last_run if found is not None else transition.record
        failures = found.failures_in_row if found is not None else transition.failures_in_row
        end = flapping.settled(transition, record, failures)
        wanted = self._alert_state(end, expectation)
        if wanted != NONE:
            after = dataclasses.replace(state, number=state.number + 1)
            if self.store.record_transition(state, after, end, wanted):
                return OpenAlert(end, after.number, wanted)
            return None  # another watcher stored it
        if not self.store.claim_alert(alert, now, self.settings.alert_lease):
            return None  # another watcher is closing it
        why = f"settled while {transition.health}: nothing to alert"
        if not alert.deliveries:
            self.store.settle_alert(alert, NONE, why, now)
            return None
        told = delivery.alert_state(alert.deliveries)
        detail = f"{delivery.describe(alert.deliveries)}; {why}"
        self.store.settle_alert(alert, told, detail, now, alert.deliveries)
        return None

    def _told_channels(
        self, recovery: Transition, number: int, configured: dict[str, Notifier], now: dt.datetime
    ) -> list[str] | None:
        """Return the channels that delivered the problem this recovery ends, or one of its
        repeats or its escalation (``followup.py``).

        ``None``: a watcher is still sending one of them (its claim holds), so which channels
        it reached is not known yet. A problem stored before deliveries were kept per channel
        counts as told to every channel when it was ``sent``, to none otherwise.
        """
        numbers = [number - 1]
        if recovery.previous in ALERTING:  # only a problem that alerts has follow-ups
            numbers = self._problem_numbers(recovery.command_id, number - 1)
        lease = dt.timedelta(seconds=self.settings.alert_lease)
        told: set[str] = set()
        for problem_number in numbers:
            problem = self.store.alert(recovery.command_id, problem_number)
            if problem is None:
                continue
            if problem.claimed_at is not None and problem.claimed_at + lease > now:
                return None
            found = problem.told()
            told.update(configured if found is None else found)
        return sorted(told)

    def _problem_numbers(self, command_id: str, newest: int) -> list[int]:
        """Return the numbers of the problem transition ``newest`` ends with and of its
        follow-ups, newest first (one read, only when a recovery is sent)."""
        from ..stores.health_store import KEPT_TRANSITIONS

        numbers: list[int] = []
        for number, transition, _ in self.store.transitions(command_id, KEPT_TRANSITIONS):
            if number > newest:
                continue
            numbers.append(number)
            if transition.follow_up is None:
                break
        return numbers or [newest]

    def _notifiers(self) -> Sequence[Notifier]:
        if self.notifiers is None:
            from ..alerts import notifiers_from_settings

            self.notifiers = notifiers_from_settings()
        return self.notifiers

    # The spool.
    def _deliver_spool(self) -> int:
        """Deliver what waits in the spool (the watcher is one of its two drains).

        Each file goes to the configured store its reporter path names; a file naming any
        other path is kept and reported, never imported (``spool.deliverable``).
        """
        from ..recording.spool import Spool, deliver, deliverable

        spool = Spool.for_settings(self.settings)
        if not spool.files():
            return 0  # the usual case: no reporter is made for nothing
        waiting = deliverable(spool, self._spool_reporters(), SPOOL_BATCH, report_others=True)
        return sum(deliver(spool, reporter, item) for reporter, item in waiting)

    def _spool_reporters(self) -> dict[str, Reporter]:
        """Return the project's configured stores by class path: the only ones a file may name."""
        if self._configured is None:
            from ..stores import configured_reporters
            from ..stores.base import reporter_path

            found = [self.reporter, *configured_reporters(self.settings)]
            self._configured = {}
            for reporter in found:
                self._configured.setdefault(reporter_path(reporter), reporter)
        return self._configured


def _routed(
    route: Route, targets: dict[str, Notifier], transition: Transition
) -> dict[str, Notifier]:
    """Return the channels the command's route sends ``transition`` to (an escalation: more)."""
    escalation = transition.follow_up is not None and transition.follow_up.escalation
    return route.targets(targets, escalation)


def _newest_missed(history: list[RunRecord]) -> dt.datetime | None:
    missed = [r.started for r in history if str(r.status) == Status.MISSED.value]
    return max(missed) if missed else None


def watcher_for(
    settings: MonitorSettings = monitor_settings, interval: float | None = None
) -> Watcher | None:
    """Return a watcher of the project's store, or ``None`` when it has none to watch.

    ``interval``: the seconds its loop waits between cycles (``None``: it runs ``--once``).
    """
    from ..stores import store_reporter

    reporter = store_reporter(settings)
    store = reporter.health_store() if reporter is not None else None
    if reporter is None or store is None:
        return None
    return Watcher(reporter, store, settings=settings, interval=interval)
