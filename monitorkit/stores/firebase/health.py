"""The watcher's side of Firebase: each command id's health, its transitions and open alerts.

The layout, beside the runs (``firebase.py``), under ``<FIREBASE_MONITORING_KEY>/``::

    health/<command id>                what the watcher last concluded (a ``HealthState``):
                                       command_id, health, since, first_seen, number,
                                       next_expected, last_success, last_failure,
                                       last_completion (kept past the runs' retention)
    transitions/<command id>/<number>  transition number ``number`` (1, 2, ...):
                                       ``Transition.as_dict()`` plus alert, detail,
                                       claimed_at, alerted_at, stored_by and deliveries
                                       (each channel's, ``monitorkit/delivery.py``; absent
                                       before the first try); the newest 100 kept
    alerts/<command id>                the command id's open alert, if any: number, state,
                                       claimed_at, claimed_by, deliveries and the transition
    watchers/<watcher id>              each watcher's heartbeat (a ``WatcherBeat``): host,
                                       pid, at (its latest cycle's end), interval, scheduled
    snoozes/<snooze id>                a snooze (``monitorkit/snoozes.py``): id, pattern,
                                       reason, who, start, until, closed

Timestamps are ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` strings. While an alert is open its state lives in
``alerts/<command id>`` (the transition node mirrors it); once settled, in the transition node.

Two watchers, on one host or two, agree through conditional writes (a GET with
``X-Firebase-ETag``, then a PUT with ``if-match``; a 412 means someone else wrote first):

- A transition is stored by creating ``transitions/<id>/<number>`` only if it is absent. The
  watcher that created it then moves ``alerts/<id>`` to the new alert (a conditional write that
  never moves it back to an older number) and writes ``health/<id>`` with one multi-path PATCH
  that also deletes transition ``number - 100`` and settles a superseded alert ``none``.
- A watcher killed after the create leaves the state behind the stored transition. The next
  ``record_transition`` for that number gets the 412, finds ``health/<id>`` behind, and does the
  remaining writes from the stored transition (whichever watcher stored it), so no transition is
  stuck and its alert is not lost. It returns ``False``: this call stored nothing.
- An alert is claimed by a conditional write of ``alerts/<id>``, so of two watchers one sends
  it; a settle deletes ``alerts/<id>`` only while it still holds that alert.

Requests per operation (none grows with the history; ``N`` is the transition's number):

- ``states``, ``open_alerts``, ``transitions``, ``update_state``, ``last_cycle``: 1 each.
- ``record_cycle``: 1 (a PUT of the watcher's own node; each watcher writes only its own, so no
  condition); a watcher's first also reads ``watchers`` and deletes, in one PATCH, the nodes of
  watchers silent for a day (2 more).
- ``record_first_sight``: 2 the first time (GET, PUT), 1 once the state exists.
- ``record_transition``: 4 when no alert opens or closes (GET and PUT of transition N, GET of
  ``alerts/<id>``, PATCH), 5 when one does (and the PUT of ``alerts/<id>``), 2 more when it
  supersedes an alert that a watcher is sending. Losing the race: 2 or 3 (GET, the PUT
  answered 412 if it was made, GET of ``health/<id>``). Completing a killed watcher's
  transition: 2 to 4 more (GET of ``alerts/<id>``; unless it holds the alert already, a GET
  of the transition and, if the alert moves, a PUT; then the PATCH).
- ``claim_alert``: 3 (GET and PUT of ``alerts/<id>``, PATCH of the transition), 1 or 2 when
  it is not to be had. ``settle_alert``: 3 (PATCH, GET and PUT of ``alerts/<id>``; for
  ``retrying``, GET and PUT of ``alerts/<id>`` then the PATCH, or 3 when it was superseded).
  ``alert``: 1 (GET of the transition).
- The runs the watcher judges are read by ``FirebaseReporter.judge_runs``: 1 GET of
  ``latest`` and, when ``depth > 1``, 1 GET of ``commands/<id>`` per command id whose latest
  record did not finish well: the request count grows with those ids only, never with the
  healthy ones or their history.
- ``snoozes``: 1 GET. ``add_snooze``: 2 (a GET and a create-only PUT). ``end_snooze``: 2
  (GET, conditional PUT; 1 when it ends sooner already). ``close_snooze``: 2 (GET of
  ``snoozes``, one PATCH that closes it and deletes those closed a week before).
- ``store_missed``: 1 GET of ``commands/<id>/missed`` when already stored; else 2 more GETs
  (the run number, ``latest/<id>``) and one PATCH (``FirebaseReporter.store_missed``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...delivery import Delivery, read_deliveries, stored_deliveries
from ...record import format_timestamp, parse_timestamp
from ...snoozes import KEPT_AFTER_END, Snooze
from ...transitions import Transition
from ..base import ReporterError
from ..health_store import (
    BEATS_KEPT_FOR,
    CLAIMABLE,
    KEPT_TRANSITIONS,
    NONE,
    OPEN,
    OUTCOME_TIMES,
    SENDING,
    SUPERSEDED,
    HealthState,
    HealthStore,
    OpenAlert,
    StoredAlert,
    WatcherBeat,
    delivered_at,
    supersede,
)

if TYPE_CHECKING:
    from .http import RealtimeDatabaseClient, Reply
    from .tree import FirebaseTree

logger = logging.getLogger("monitorkit")

#: Conditional writes of one node tried before giving up (other watchers kept winning).
MAX_ROUNDS = 25
#: Fields a transition node holds besides ``Transition.as_dict()``.
ALERT_FIELDS = ("alert", "detail", "claimed_at", "alerted_at", "stored_by", "deliveries")


class FirebaseHealthStore(HealthStore):
    """Health and alerts in the Realtime Database, beside the runs (layout above)."""

    def __init__(self, tree: FirebaseTree) -> None:
        self.tree = tree
        self._beaten: set[str] = set()  # the watchers whose first beat this store stored

    def states(self) -> dict[str, HealthState]:
        """Return every stored state: one GET of ``health``."""
        value = self._client().get(self._path("health")).value
        found = {key: _state(key, data) for key, data in _children(value).items()}
        return {key: state for key, state in found.items() if state is not None}

    def record_first_sight(self, state: HealthState) -> None:
        """Create ``health/<id>`` unless it exists (a create-only conditional PUT)."""
        client = self._client()
        path = self._path("health", state.command_id)
        reply = client.get(path, etag=True)
        if reply.value is None:
            client.put(path, _state_data(state), if_match=_etag(reply, path))  # 412: not first

    def record_transition(
        self, before: HealthState, after: HealthState, transition: Transition, alert: str
    ) -> bool:
        """Create transition ``after.number``, then move the alert and the state on."""
        client = self._client()
        path = self._path("transitions", after.command_id, str(after.number))
        # The token tells our own PUT from another watcher's when a lost answer made the
        # client send it again and the repeat came back 412.
        token = uuid.uuid4().hex
        node = {
            **transition.as_dict(),  # its record was read from this database: storable
            "alert": alert,
            "detail": "",
            "stored_by": token,
        }
        reply = client.get(path, etag=True)
        if reply.value is None:
            reply = client.put(path, node, if_match=_etag(reply, path))
            if reply.status != 412:
                self._advance(after, lambda: node)
                return True
        stored = reply.value
        if isinstance(stored, dict) and stored.get("stored_by") == token:
            self._advance(after, lambda: node)
            return True
        self._complete(before, after.number, path, stored)
        return False

    def update_state(self, state: HealthState) -> None:
        """Write the command id's ``next_expected`` and last outcomes (one PATCH; the rest,
        its health and number, is left alone)."""
        self._client().patch(
            self._path("health", state.command_id),
            {"next_expected": format_timestamp(state.next_expected), **_outcome_data(state)},
        )

    def open_alerts(self) -> list[OpenAlert]:
        """Return the open alerts, oldest transition first: one GET of ``alerts``."""
        value = self._client().get(self._path("alerts")).value
        alerts = []
        for command_id, data in _children(value).items():
            alert = _open_alert(data)
            if alert is None:
                logger.warning("monitorkit: ignored a malformed alerts/%s node", command_id)
            elif alert.state in OPEN:
                alerts.append(alert)
        return sorted(alerts, key=lambda alert: alert.transition.at)

    def claim_alert(self, alert: OpenAlert, now: dt.datetime, lease: float) -> bool:
        """Move ``alerts/<id>`` to ``sending`` with a conditional PUT, if it may be taken."""
        client = self._client()
        command_id = alert.transition.command_id
        path = self._path("alerts", command_id)
        reply = client.get(path, etag=True)
        current = reply.value
        if not isinstance(current, dict) or not _claimable(current, alert.number, now, lease):
            return False
        if current.get("state") in CLAIMABLE and current.get("state") != alert.state:
            return False  # sent by another watcher since this one read it (database: the same)
        token = uuid.uuid4().hex  # a repeated PUT whose first answer was lost is still ours
        claimed = {**current, "state": SENDING, "claimed_at": format_timestamp(now)}
        claimed["claimed_by"] = token
        answer = client.put(path, claimed, if_match=_etag(reply, path))
        if answer.status == 412 and not (
            isinstance(answer.value, dict) and answer.value.get("claimed_by") == token
        ):
            return False
        client.patch(
            self._path("transitions", command_id, str(alert.number)),
            {"alert": SENDING, "claimed_at": format_timestamp(now)},
        )
        return True

    def settle_alert(
        self,
        alert: OpenAlert,
        state: str,
        detail: str,
        now: dt.datetime,
        deliveries: Mapping[str, Delivery] | None = None,
    ) -> None:
        """Write the outcome into the transition, then close ``alerts/<id>`` if still its own.

        In that order: a watcher killed in between leaves the alert open under its claim, to
        be sent again once the lease ends, rather than an outcome nobody wrote down.
        ``waiting`` and ``retrying`` put the alert back (unclaimed, with its deliveries)
        unless a later transition superseded it; a superseded ``retrying`` one is settled as
        ``supersede`` says.
        """
        command_id = alert.transition.command_id
        transition = self._path("transitions", command_id, str(alert.number))
        fields: dict[str, Any] = {"alert": state, "detail": detail, "claimed_at": None}
        if deliveries is not None:
            fields["deliveries"] = stored_deliveries(deliveries)
        sent_at = delivered_at(state, deliveries, now)
        if sent_at is not None:
            fields["alerted_at"] = format_timestamp(sent_at)
        if state in OPEN:
            extra = {"deliveries": fields["deliveries"]} if deliveries is not None else {}
            if self._rewrite_alert(command_id, alert.number, state, extra):
                self._client().patch(transition, fields)
            elif deliveries is not None:
                state, detail, settled = supersede(deliveries)
                fields.update(alert=state, detail=detail, deliveries=stored_deliveries(settled))
                self._client().patch(transition, fields)
            return
        if deliveries is None:
            fields["alerted_at"] = format_timestamp(sent_at)  # None unless sent: cleared
        self._client().patch(transition, fields)
        self._rewrite_alert(command_id, alert.number, None)

    def alert(self, command_id: str, number: int) -> StoredAlert | None:
        """Return the stored alert of one transition: one GET of its node."""
        node = self._client().get(self._path("transitions", command_id, str(number))).value
        if not isinstance(node, dict):
            return None
        try:
            claimed_at = parse_timestamp(node.get("claimed_at"))
        except ValueError:
            claimed_at = None
        return StoredAlert(
            str(node.get("alert") or NONE), read_deliveries(node.get("deliveries")), claimed_at
        )

    def transitions(self, command_id: str, limit: int = 20) -> list[tuple[int, Transition, str]]:
        """Return the kept transitions of one command id, newest first: one GET."""
        value = self._client().get(self._path("transitions", command_id)).value
        found = []
        for key, data in _children(value).items():
            if not key.isdigit() or not isinstance(data, dict):
                continue
            try:
                transition = Transition.from_dict(data)
            except (KeyError, TypeError, ValueError):
                logger.warning("monitorkit: ignored a malformed transitions/%s/%s", command_id, key)
                continue
            found.append((int(key), transition, str(data.get("alert") or NONE)))
        found.sort(key=lambda item: item[0], reverse=True)
        return found[:limit]

    def record_cycle(self, beat: WatcherBeat) -> None:
        """PUT ``watchers/<id>``; with a watcher's first beat, delete the nodes of watchers
        silent for a day."""
        self._client().put(self._path("watchers", beat.watcher), _beat_data(beat))
        if beat.watcher in self._beaten:
            return
        self._beaten.add(beat.watcher)
        value = self._client().get(self._path("watchers")).value
        cutoff = beat.at - BEATS_KEPT_FOR
        gone = {
            f"watchers/{key}": None
            for key, data in _children(value).items()
            if (old := _beat(key, data)) is None or old.at < cutoff
        }
        if gone:
            self._client().patch(self.tree.root(), gone)

    def last_cycle(self) -> WatcherBeat | None:
        """Return the newest beat under ``watchers``: one GET."""
        value = self._client().get(self._path("watchers")).value
        beats = [beat for key, data in _children(value).items() if (beat := _beat(key, data))]
        return max(beats, key=lambda beat: beat.at, default=None)

    def snoozes(self) -> list[Snooze]:
        """Return every snooze under ``snoozes``: one GET; a malformed node is logged, left out."""
        value = self._client().get(self._path("snoozes")).value
        found = []
        for key, data in _children(value).items():
            snooze = _snooze(data)
            if snooze is None:
                logger.warning("monitorkit: ignored a malformed snoozes/%s node", key)
            else:
                found.append(snooze)
        return sorted(found, key=lambda snooze: snooze.start)

    def add_snooze(self, snooze: Snooze) -> bool:
        """Create ``snoozes/<id>`` unless it exists (a create-only conditional PUT)."""
        client = self._client()
        path = self._path("snoozes", snooze.id)
        reply = client.get(path, etag=True)
        if reply.value is not None:
            return False
        token = uuid.uuid4().hex  # tells our own repeated PUT from another's on a 412
        node = {**snooze.as_dict(), "stored_by": token}
        answer = client.put(path, node, if_match=_etag(reply, path))
        if answer.status != 412:
            return True
        return isinstance(answer.value, dict) and answer.value.get("stored_by") == token

    def end_snooze(self, snooze_id: str, at: dt.datetime) -> Snooze | None:
        """Bring ``snoozes/<id>/until`` forward to ``at`` with a conditional PUT."""
        client = self._client()
        path = self._path("snoozes", snooze_id)
        reply = client.get(path, etag=True)
        for _ in range(MAX_ROUNDS):
            snooze = _snooze(reply.value)
            if snooze is None or snooze.until <= at:
                return snooze
            node = {**reply.value, "until": format_timestamp(at)}
            answer = client.put(path, node, if_match=_etag(reply, path))
            if answer.status != 412:
                return _snooze(node)
            reply = answer
        raise _too_busy(path)

    def close_snooze(self, snooze_id: str, at: dt.datetime) -> None:
        """Set ``closed`` and delete the snoozes closed a week before, in one PATCH."""
        value = self._client().get(self._path("snoozes")).value
        updates: dict[str, Any] = {}
        for key, data in _children(value).items():
            snooze = _snooze(data)
            if key == snooze_id and snooze is not None and snooze.closed is None:
                updates[f"snoozes/{key}/closed"] = format_timestamp(at)
            elif snooze is not None and snooze.closed and snooze.closed < at - KEPT_AFTER_END:
                updates[f"snoozes/{key}"] = None
        if updates:
            self._client().patch(self.tree.root(), updates)

    # Inside.
    def _client(self) -> RealtimeDatabaseClient:
        return self.tree.client()

    def _path(self, *keys: str) -> tuple[str, ...]:
        return self.tree.root() + keys

    def _advance(self, after: HealthState, node_of: Callable[[], Any]) -> None:
        """Do what follows a stored transition: its alert, the state, the trim."""
        command_id, number = after.command_id, after.number
        superseded = self._move_alert(command_id, number, node_of)
        updates: dict[str, Any] = {f"health/{command_id}": _state_data(after)}
        if number > KEPT_TRANSITIONS:
            updates[f"transitions/{command_id}/{number - KEPT_TRANSITIONS}"] = None
        earlier = _number(superseded)
        if superseded is not None and superseded.get("state") in CLAIMABLE:
            # Safe without a condition: nobody can claim it any more (alerts/<id> moved on).
            state, detail, deliveries = supersede(read_deliveries(superseded.get("deliveries")))
            updates[f"transitions/{command_id}/{earlier}/alert"] = state
            updates[f"transitions/{command_id}/{earlier}/detail"] = detail
            if deliveries:
                updates[f"transitions/{command_id}/{earlier}/deliveries"] = stored_deliveries(
                    deliveries
                )
        self._client().patch(self.tree.root(), updates)
        if superseded is not None and superseded.get("state") == SENDING:
            self._supersede_claimed(command_id, earlier)

    def _complete(
        self, before: HealthState, number: int, path: tuple[str, ...], stored: Any
    ) -> None:
        """Finish what the watcher that stored transition ``number`` (``stored``) may not have.

        Whichever watcher stored it, and whatever it judged: the stored transition is the one
        that number stands for, and leaving it half done would stop the command id there.
        """
        client = self._client()
        command_id = before.command_id
        current = _state(command_id, client.get(self._path("health", command_id)).value)
        if current is not None and current.number >= number:
            return  # that watcher moved the state on (or a later one did)
        try:
            transition = Transition.from_dict(stored)
        except (KeyError, TypeError, ValueError):
            logger.warning("monitorkit: transition %s of %r is malformed", number, command_id)
            return
        first_seen = current.first_seen if current is not None else before.first_seen
        after = HealthState(
            command_id,
            transition.health,
            transition.at,
            first_seen,
            number,
            transition.next_expected,
        )
        # Read the transition again after each read of alerts/<id>: a settle writes the
        # transition before it deletes alerts/<id>, so an alert settled meanwhile is not reopened.
        self._advance(after, lambda: client.get(path).value)

    def _move_alert(
        self, command_id: str, number: int, node_of: Callable[[], Any]
    ) -> dict[str, Any] | None:
        """Put transition ``number``'s alert (or nothing) in ``alerts/<id>``; return the old one.

        Never moves it back: an alert of ``number`` or later stays. Returns the earlier alert
        this replaced (to be settled ``none``), if any.
        """
        client = self._client()
        path = self._path("alerts", command_id)
        reply = client.get(path, etag=True)
        for _ in range(MAX_ROUNDS):
            current = reply.value if isinstance(reply.value, dict) else None
            if current is not None and _number(current) >= number:
                return None
            node = node_of()
            state = node.get("alert") if isinstance(node, dict) else None
            new = _alert_node(number, state, node) if state in OPEN else None
            if current is None and new is None:
                return None
            answer = client.put(path, new, if_match=_etag(reply, path))
            if answer.status != 412:
                return current
            reply = answer
        raise _too_busy(path)

    def _rewrite_alert(
        self,
        command_id: str,
        number: int,
        state: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Set ``alerts/<id>`` to ``state`` (``None``: delete) while it holds alert ``number``."""
        client = self._client()
        path = self._path("alerts", command_id)
        reply = client.get(path, etag=True)
        for _ in range(MAX_ROUNDS):
            current = reply.value
            if not isinstance(current, dict) or _number(current) != number:
                return False  # settled already, or superseded by a later transition
            new = None
            if state is not None:
                new = {**current, "state": state, "claimed_at": None, "claimed_by": None}
                new.update(extra or {})
            answer = client.put(path, new, if_match=_etag(reply, path))
            if answer.status != 412:
                return True
            reply = answer
        raise _too_busy(path)

    def _supersede_claimed(self, command_id: str, number: int) -> None:
        """Settle ``none`` a superseded alert that was being sent, unless its sender settled it.

        Conditional, so a sender's ``sent`` written first is kept; a sender that settles later
        writes its outcome over this ``none``, which is the truth too. Its ``claimed_at`` is
        kept: a recovery waits for the sender (or its lease) to learn which channels were told.
        """
        client = self._client()
        path = self._path("transitions", command_id, str(number))
        reply = client.get(path, etag=True)
        for _ in range(MAX_ROUNDS):
            node = reply.value
            if not isinstance(node, dict) or node.get("alert") not in OPEN:
                return
            settled = {**node, "alert": NONE, "detail": SUPERSEDED}
            reply = client.put(path, settled, if_match=_etag(reply, path))
            if reply.status != 412:
                return
        raise _too_busy(path)


def _etag(reply: Reply, path: tuple[str, ...]) -> str:
    if reply.etag is None:
        raise ReporterError(
            f"Firebase sent no ETag for /{'/'.join(path)}; the watcher needs the REST API's "
            "conditional requests (X-Firebase-ETag) so that two watchers never alert twice."
        )
    return reply.etag


def _too_busy(path: tuple[str, ...]) -> ReporterError:
    return ReporterError(
        f"could not write /{'/'.join(path)}: {MAX_ROUNDS} conditional writes in a row lost to "
        "other watchers writing it at the same time."
    )


def _children(value: Any) -> dict[str, Any]:
    """Return a node's children by key, whether Firebase sent an object or an array."""
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value) if item is not None}
    return value if isinstance(value, dict) else {}


def _number(node: dict[str, Any] | None) -> int:
    value = node.get("number") if node is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _state_data(state: HealthState) -> dict[str, Any]:
    return {
        "command_id": state.command_id,
        "health": state.health,
        "since": format_timestamp(state.since),
        "first_seen": format_timestamp(state.first_seen),
        "number": state.number,
        "next_expected": format_timestamp(state.next_expected),
        **_outcome_data(state),
    }


def _outcome_data(state: HealthState) -> dict[str, Any]:
    return {name: format_timestamp(value) for name, value in state.outcome_times().items()}


def _state(command_id: str, data: Any) -> HealthState | None:
    """Return a stored state, or ``None`` for a node that is not one."""
    if not isinstance(data, dict):
        return None
    try:
        since = parse_timestamp(data["since"])
        first_seen = parse_timestamp(data["first_seen"])
        next_expected = parse_timestamp(data.get("next_expected"))
        number = data.get("number", 0)
        if since is None or first_seen is None or not isinstance(number, int):
            return None
        return HealthState(
            command_id,
            str(data["health"]),
            since,
            first_seen,
            number,
            next_expected,
            **{name: parse_timestamp(data.get(name)) for name in OUTCOME_TIMES},
        )
    except (KeyError, TypeError, ValueError):
        return None


def _beat_data(beat: WatcherBeat) -> dict[str, Any]:
    return {
        "host": beat.host,
        "pid": beat.pid,
        "at": format_timestamp(beat.at),
        "interval": beat.interval,
        "scheduled": beat.scheduled,
    }


def _beat(key: str, data: Any) -> WatcherBeat | None:
    """Return a stored beat, or ``None`` for a node that is not one."""
    if not isinstance(data, dict):
        return None
    try:
        at = parse_timestamp(data.get("at"))
    except ValueError:
        return None
    pid, interval, scheduled = data.get("pid"), data.get("interval"), data.get("scheduled", 0)
    if at is None:
        return None
    return WatcherBeat(
        key,
        str(data.get("host") or ""),
        pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        at,
        float(interval) if isinstance(interval, (int, float)) and interval > 0 else None,
        scheduled if isinstance(scheduled, int) and not isinstance(scheduled, bool) else 0,
    )


def _snooze(data: Any) -> Snooze | None:
    """Return a stored snooze, or ``None`` for a node that is not one."""
    if not isinstance(data, dict):
        return None
    try:
        return Snooze.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def _alert_node(number: int, state: str, node: dict[str, Any]) -> dict[str, Any]:
    found = {
        "number": number,
        "state": state,
        "transition": {key: value for key, value in node.items() if key not in ALERT_FIELDS},
    }
    if node.get("deliveries"):
        found["deliveries"] = node["deliveries"]
    return found


def _open_alert(data: Any) -> OpenAlert | None:
    if not isinstance(data, dict):
        return None
    try:
        return OpenAlert(
            Transition.from_dict(data["transition"]),
            int(data["number"]),
            str(data["state"]),
            parse_timestamp(data.get("claimed_at")),
            read_deliveries(data.get("deliveries")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _claimable(current: dict[str, Any], number: int, now: dt.datetime, lease: float) -> bool:
    """Return whether the alert in ``current`` is ``number`` and free: unclaimed or expired."""
    if _number(current) != number:
        return False
    state = current.get("state")
    if state in CLAIMABLE:
        return True
    if state != SENDING:
        return False
    try:
        claimed_at = parse_timestamp(current.get("claimed_at"))
    except ValueError:
        return True  # a claim nobody can read is no claim
    return claimed_at is None or claimed_at + dt.timedelta(seconds=lease) < now
