"""A store that lives only in the tests: one JSON file, one class, one setting.

``MONITORKIT_STORE = "tests.filestore.FileStore"`` (and ``TEST_FILE_STORE``, the file's path)
is all a project needs for every monitored run to be written here and for the status page, the
watcher, its alerts, the metrics and ``monitor_status`` to read it: the seam of issue 18. Each
operation reads, changes and writes the whole file under an exclusive ``flock``, so processes
(a command's sender, a watcher, the test) never see half a change; compare-and-set is then a
plain comparison inside the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings as django_settings

from monitorkit.delivery import Delivery, read_deliveries, stored_deliveries
from monitorkit.record import RunRecord, Status, format_timestamp, parse_timestamp
from monitorkit.snoozes import KEPT_AFTER_END, Snooze
from monitorkit.stores.base import MISSED_KEPT, Reporter
from monitorkit.stores.health_store import (
    BEATS_KEPT_FOR,
    CLAIMABLE,
    KEPT_TRANSITIONS,
    OPEN,
    SENDING,
    HealthState,
    HealthStore,
    OpenAlert,
    StoredAlert,
    WatcherBeat,
    supersede,
)
from monitorkit.transitions import Transition

STATE_TIMES = (
    "since",
    "first_seen",
    "next_expected",
    "last_success",
    "last_failure",
    "last_completion",
)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[dict[str, Any]]:
    """Yield the file's data to change in place; written back when the block ends well."""
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                with open(path, encoding="utf-8") as stored:
                    data = json.load(stored)
            except FileNotFoundError:
                data = {}
            for key in ("runs", "health", "transitions", "watchers", "snoozes"):
                data.setdefault(key, {})
            yield data
            with open(path + ".tmp", "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(path + ".tmp", path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class FileStore(Reporter):
    """Runs by command id in one JSON file (``settings.TEST_FILE_STORE``)."""

    @property
    def path(self) -> str:
        return str(django_settings.TEST_FILE_STORE)

    def write(self, record: RunRecord) -> None:
        with _locked(self.path) as data:
            runs: dict[str, Any] = data["runs"].setdefault(record.id, {})
            stored = runs.get(record.run_id)
            seq = stored["seq"] if stored else max((r["seq"] for r in runs.values()), default=0) + 1
            runs[record.run_id] = {**record.as_dict(), "seq": seq}
            missed = record.status is Status.MISSED
            kept = MISSED_KEPT if missed else self.settings.retention
            same = sorted(
                (r for r in runs.values() if (r["status"] == "MISSED") is missed),
                key=lambda r: r["seq"],
            )
            for old in same[:-kept]:
                del runs[old["run_id"]]

    def latest_runs(self) -> list[RunRecord]:
        return [history[0] for history in self.recent_runs(1).values()]

    def command_history(self, command_id: str, limit: int | None = None) -> list[RunRecord]:
        return self.recent_runs(limit).get(command_id, [])

    def recent_runs(self, depth: int | None = None) -> dict[str, list[RunRecord]]:
        with _locked(self.path) as data:
            found = {}
            for command_id, runs in sorted(data["runs"].items()):
                newest = sorted(runs.values(), key=lambda r: r["seq"], reverse=True)
                found[command_id] = [RunRecord.from_dict(r) for r in newest[:depth]]
            return {command_id: runs for command_id, runs in found.items() if runs}

    def health_store(self) -> FileHealthStore:
        return FileHealthStore(self.path)

    def describe(self) -> str:
        return f"FileStore({os.path.basename(self.path)})"


def _time(value: dt.datetime | None) -> str | None:
    return format_timestamp(value)


def _state_data(state: HealthState) -> dict[str, Any]:
    return {
        "health": state.health,
        "number": state.number,
        **{name: _time(getattr(state, name)) for name in STATE_TIMES},
    }


def _state(command_id: str, data: Mapping[str, Any]) -> HealthState:
    times = {name: parse_timestamp(data.get(name)) for name in STATE_TIMES}
    return HealthState(command_id=command_id, health=data["health"], number=data["number"], **times)


def _open(node: Mapping[str, Any], number: int) -> OpenAlert:
    return OpenAlert(
        Transition.from_dict(node["transition"]),
        number,
        node["alert"],
        parse_timestamp(node.get("claimed_at")),
        read_deliveries(node.get("deliveries")),
    )


class FileHealthStore(HealthStore):
    """The watcher's states and transitions, beside the runs in the same file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def states(self) -> dict[str, HealthState]:
        with _locked(self.path) as data:
            return {key: _state(key, value) for key, value in data["health"].items()}

    def record_first_sight(self, state: HealthState) -> None:
        with _locked(self.path) as data:
            data["health"].setdefault(state.command_id, _state_data(state))

    def record_transition(
        self, before: HealthState, after: HealthState, transition: Transition, alert: str
    ) -> bool:
        with _locked(self.path) as data:
            stored = data["health"].get(before.command_id)
            if stored is None or stored["number"] != before.number:
                return False  # another watcher stored this change first
            nodes = data["transitions"].setdefault(before.command_id, {})
            for node in nodes.values():
                if node["alert"] in OPEN:
                    state, detail, deliveries = supersede(read_deliveries(node["deliveries"]))
                    node.update(
                        alert=state, detail=detail, deliveries=stored_deliveries(deliveries)
                    )
            nodes[str(after.number)] = {
                "transition": transition.as_dict(),
                "alert": alert,
                "detail": "",
                "claimed_at": None,
                "deliveries": {},
            }
            for old in sorted(nodes, key=int)[:-KEPT_TRANSITIONS]:
                del nodes[old]
            data["health"][before.command_id] = _state_data(after)
            return True

    def update_state(self, state: HealthState) -> None:
        with _locked(self.path) as data:
            data["health"][state.command_id] = _state_data(state)

    def open_alerts(self) -> list[OpenAlert]:
        with _locked(self.path) as data:
            return [
                _open(node, int(number))
                for nodes in data["transitions"].values()
                for number, node in nodes.items()
                if node["alert"] in OPEN
            ]

    def claim_alert(self, alert: OpenAlert, now: dt.datetime, lease: float) -> bool:
        with _locked(self.path) as data:
            node = data["transitions"][alert.transition.command_id].get(str(alert.number))
            if node is None:
                return False
            claimed = parse_timestamp(node.get("claimed_at"))
            expired = claimed is not None and (now - claimed).total_seconds() > lease
            if node["alert"] not in CLAIMABLE and not (node["alert"] == SENDING and expired):
                return False
            if node["alert"] in CLAIMABLE and node["alert"] != alert.state:
                return False  # sent by another watcher since this one read it
            node.update(alert=SENDING, claimed_at=_time(now))
            return True

    def settle_alert(
        self,
        alert: OpenAlert,
        state: str,
        detail: str,
        now: dt.datetime,
        deliveries: Mapping[str, Delivery] | None = None,
    ) -> None:
        """As the database's: a final state always; an open one only while it is ours."""
        with _locked(self.path) as data:
            node = data["transitions"][alert.transition.command_id].get(str(alert.number))
            if node is None:
                return
            columns: dict[str, Any] = {"alert": state, "detail": detail, "claimed_at": None}
            if deliveries is not None:
                columns["deliveries"] = stored_deliveries(deliveries)
            if state in OPEN and node["alert"] != SENDING:
                if deliveries is None:
                    return
                # A later transition superseded it while it was being sent.
                state, detail, settled = supersede(deliveries)
                columns.update(alert=state, detail=detail, deliveries=stored_deliveries(settled))
            node.update(columns)

    def alert(self, command_id: str, number: int) -> StoredAlert | None:
        with _locked(self.path) as data:
            node = data["transitions"].get(command_id, {}).get(str(number))
            if node is None:
                return None
            claimed = parse_timestamp(node.get("claimed_at"))
            return StoredAlert(node["alert"], read_deliveries(node["deliveries"]), claimed)

    def transitions(self, command_id: str, limit: int = 20) -> list[tuple[int, Transition, str]]:
        with _locked(self.path) as data:
            nodes = data["transitions"].get(command_id, {})
            newest = sorted(nodes, key=int, reverse=True)[:limit]
            return [
                (int(n), Transition.from_dict(nodes[n]["transition"]), nodes[n]["alert"])
                for n in newest
            ]

    def record_cycle(self, beat: WatcherBeat) -> None:
        with _locked(self.path) as data:
            watchers = data["watchers"]
            watchers[beat.watcher] = {
                "host": beat.host,
                "pid": beat.pid,
                "at": _time(beat.at),
                "interval": beat.interval,
                "scheduled": beat.scheduled,
            }
            cutoff = beat.at - BEATS_KEPT_FOR
            for key in [k for k, v in watchers.items() if parse_timestamp(v["at"]) < cutoff]:
                del watchers[key]

    def last_cycle(self) -> WatcherBeat | None:
        with _locked(self.path) as data:
            beats = [
                WatcherBeat(
                    key,
                    node["host"],
                    node["pid"],
                    parse_timestamp(node["at"]),
                    node["interval"],
                    node["scheduled"],
                )
                for key, node in data["watchers"].items()
            ]
            return max(beats, key=lambda beat: beat.at, default=None)

    def snoozes(self) -> list[Snooze]:
        with _locked(self.path) as data:
            found = [Snooze.from_dict(node) for node in data["snoozes"].values()]
            return sorted(found, key=lambda snooze: snooze.start)

    def add_snooze(self, snooze: Snooze) -> bool:
        with _locked(self.path) as data:
            if snooze.id in data["snoozes"]:
                return False
            data["snoozes"][snooze.id] = snooze.as_dict()
            return True

    def end_snooze(self, snooze_id: str, at: dt.datetime) -> Snooze | None:
        with _locked(self.path) as data:
            node = data["snoozes"].get(snooze_id)
            if node is None:
                return None
            if Snooze.from_dict(node).until > at:
                node["until"] = _time(at)
            return Snooze.from_dict(node)

    def close_snooze(self, snooze_id: str, at: dt.datetime) -> None:
        with _locked(self.path) as data:
            snoozes = data["snoozes"]
            if snooze_id in snoozes and snoozes[snooze_id].get("closed") is None:
                snoozes[snooze_id]["closed"] = _time(at)
            for key in list(snoozes):
                closed = parse_timestamp(snoozes[key].get("closed"))
                if closed is not None and closed < at - KEPT_AFTER_END:
                    del snoozes[key]
