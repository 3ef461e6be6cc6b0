"""The Firebase reporter against the local Realtime Database server, over real HTTP."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
import threading
import traceback
from functools import partial
from typing import Any

import pytest
import requests

from monitorkit.cleaning import Cleaner
from monitorkit.conf import monitor_settings
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.recording.sender import deliver_to
from monitorkit.stores.base import ReporterError
from monitorkit.stores.firebase import runs as firebase
from monitorkit.stores.firebase.runs import FirebaseReporter
from monitorkit.testing.rtdb_server import RealtimeDatabaseServer

from .conftest import FAST, KEY, SECRET, make_record, run_once

CMD = "import_data__limit_10"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
RECORD_FIELDS = {
    "id",
    "name",
    "params",
    "run_id",
    "host",
    "pid",
    "started",
    "status",
    "latest",
    "message",
    "seq",
    "duration",
}


def raw_get(server: RealtimeDatabaseServer, path: str) -> Any:
    """Read a node as a user would: a plain GET of ``<path>.json``."""
    response = requests.get(f"{server.url}/{path}.json", timeout=5)
    response.raise_for_status()
    return response.json()


def log_of(server: RealtimeDatabaseServer, command_id: str = CMD) -> Any:
    return raw_get(server, f"{KEY}/commands/{command_id}/log")


def requests_of(server: RealtimeDatabaseServer, action: Any) -> list[Any]:
    server.clear_requests()
    action()
    return server.requests


# --- construction and configuration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("firebase", "key", "fragment"),
    [
        ({"API_KEY": "x"}, KEY, "names no database"),
        ({"DATABASE_URL": "ftp://db.example.com"}, KEY, "not an http"),
        ({"NAME": "db"}, "", "FIREBASE_MONITORING_KEY is empty"),
        ({"NAME": "db"}, "monitor.prod", "characters Firebase keys forbid"),
        ({"NAME": "db", "AUTH_TOKEN": 7}, KEY, "AUTH_TOKEN"),
    ],
)
def test_bad_settings_fail_the_write_not_the_constructor(
    settings: Any, firebase: dict[str, Any], key: str, fragment: str
) -> None:
    settings.FIREBASE_MONITORING = firebase
    settings.FIREBASE_MONITORING_KEY = key
    reporter = FirebaseReporter(settings=monitor_settings)  # as the mixin builds it: cheap
    assert reporter.describe().startswith("FirebaseReporter(")
    with pytest.raises(ReporterError, match=fragment):
        reporter.write(make_record())


def test_describe_and_redact_never_show_a_credential(settings: Any) -> None:
    encoded = requests.utils.quote(SECRET, safe="")
    settings.FIREBASE_MONITORING = {
        "DATABASE_URL": f"https://db.firebaseio.com/?auth={encoded}&ns=db",
        "AUTH_TOKEN": "other-secret-value",
    }
    settings.FIREBASE_MONITORING_KEY = KEY
    reporter = FirebaseReporter(monitor_settings)
    assert reporter.describe() == f"FirebaseReporter(https://db.firebaseio.com/?ns=db, key {KEY!r})"
    text = f"a {SECRET} b {encoded} c other-secret-value d ?auth=xyz e Bearer abc.def"
    cleaned = reporter.redact(text)
    for leaked in (SECRET, encoded, "other-secret-value", "xyz", "abc.def"):
        assert leaked not in cleaned


# --- the stored tree ------------------------------------------------------------------------------


def test_stored_tree_matches_the_documented_layout(rtdb_server: Any, reporter_for: Any) -> None:
    reporter = reporter_for(rtdb_server)
    started = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)
    record = make_record(started=started, metadata={"release": "1.2.3"})
    reporter.write(record)
    record.status, record.message = Status.RUNNING, "Command running"
    record.latest = started + dt.timedelta(seconds=30)
    record.progress = {"done": 5, "total": 10}
    reporter.write(record)
    record.status, record.message = Status.FAILED, "boom"
    record.finished = record.latest = started + dt.timedelta(seconds=45)
    record.exception_type, record.traceback, record.exit_code = "ValueError", "Traceback...", 1
    reporter.write(record)

    log = log_of(rtdb_server)
    assert isinstance(log, list) and len(log) == 1  # what django-command-monitor users read
    stored = log[0]
    assert RECORD_FIELDS | {
        "finished",
        "exception_type",
        "traceback",
        "exit_code",
        "progress",
        "metadata",
    } == set(stored)
    assert stored["seq"] == 1 and stored["status"] == "FAILED" and stored["message"] == "boom"
    assert stored["started"] == "2024-05-01T12:00:00.123456Z"
    for name in ("started", "latest", "finished"):
        assert TIMESTAMP.match(stored[name])
    assert stored["duration"] == 45.0 and stored["progress"] == {"done": 5, "total": 10}
    assert stored["metadata"] == {"release": "1.2.3"}
    assert raw_get(rtdb_server, f"{KEY}/commands/{CMD}/seq") == 1
    assert raw_get(rtdb_server, f"{KEY}/latest/{CMD}") == stored
    assert RunRecord.from_dict(stored).as_dict() == {**record.as_dict(), "seq": 1}


def test_unstorable_metadata_keys_are_made_valid(rtdb_server: Any, reporter_for: Any) -> None:
    """A run's metadata passes the run's one cleaning pass, whose output Firebase stores."""
    metadata = {"a.b": 1, "x/y": {"$z": float("nan")}, "ok key": [1, 2]}
    record = make_record(metadata=Cleaner((), CMD).data(metadata))  # what MonitoredRun does
    reporter_for(rtdb_server).write(record)
    assert log_of(rtdb_server)[0]["metadata"] == {"a_b": 1, "x_y": {"_z": "NaN"}, "ok key": [1, 2]}


def test_namespace_in_the_url_is_kept(rtdb_server: Any, reporter_for: Any) -> None:
    reporter_for(rtdb_server, DATABASE_URL=f"{rtdb_server.url}/?ns=monitoring").write(make_record())
    assert rtdb_server.data() is None
    assert rtdb_server.data("monitoring")[KEY]["commands"][CMD]["seq"] == 1


def test_name_given_as_a_url(rtdb_server: Any, reporter_for: Any) -> None:
    reporter_for(rtdb_server, DATABASE_URL=None, NAME=rtdb_server.url).write(make_record())
    assert rtdb_server.data()[KEY]["latest"][CMD]["seq"] == 1


def test_emulator_env_var_and_firebase_admin_reads_what_we_wrote(
    rtdb_server: Any, reporter_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """firebase-admin, the official client, is the independent reader of our layout."""
    firebase_admin = pytest.importorskip("firebase_admin")
    from firebase_admin import db

    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", rtdb_server.host_port)
    reporter = reporter_for(DATABASE_URL="https://my-db-123.firebaseio.com")
    for n in range(3):
        run_once(reporter, make_record(f"run-{n:05d}"))
    assert rtdb_server.data("my-db-123")[KEY]["commands"][CMD]["seq"] == 3

    app = firebase_admin.initialize_app(
        options={"databaseURL": "https://my-db-123.firebaseio.com"}, name="reader"
    )
    try:
        log = db.reference(f"{KEY}/commands/{CMD}/log", app=app).get()
        latest = db.reference(f"{KEY}/latest", app=app).get()
    finally:
        firebase_admin.delete_app(app)
    assert isinstance(log, list) and [r["seq"] for r in log] == [1, 2, 3]
    assert latest[CMD]["run_id"] == "run-00002"


# --- retention ------------------------------------------------------------------------------------


def test_retention_keeps_exactly_the_last_runs(
    rtdb_server: Any, reporter_for: Any, settings: Any
) -> None:
    reporter_for(rtdb_server)
    settings.MONITORKIT_RETENTION = 5
    for n in range(1, 13):
        run_once(FirebaseReporter(monitor_settings, retry_policy=FAST), make_record(f"run-{n:05d}"))
    log = log_of(rtdb_server)
    assert isinstance(log, list) and len(log) == 5
    assert sorted(r["seq"] for r in log) == [8, 9, 10, 11, 12]
    assert [r["seq"] for r in log] == [11, 12, 8, 9, 10]  # slot = (seq - 1) % 5
    history = FirebaseReporter(monitor_settings).command_history(CMD)
    assert [r.seq for r in history] == [12, 11, 10, 9, 8]
    assert [r.seq for r in FirebaseReporter(monitor_settings).command_history(CMD, 2)] == [12, 11]


def test_default_retention_is_100(rtdb_server: Any, reporter_for: Any) -> None:
    reporter = reporter_for(rtdb_server)
    assert reporter.settings.retention == 100
    for n in range(1, 106):
        run_once(reporter, make_record(f"run-{n:05d}"))
    log = log_of(rtdb_server)
    assert isinstance(log, list) and len(log) == 100
    assert sorted(r["seq"] for r in log) == list(range(6, 106))
    assert all(r["status"] == "FINISHED" for r in log)


# --- request counts and sizes ---------------------------------------------------------------------


def test_requests_per_start_heartbeat_finish_do_not_grow_with_history(
    rtdb_server: Any, reporter_for: Any
) -> None:
    """Counted with the server's request log after 1, 10 and 100 earlier runs."""
    reporter = reporter_for(rtdb_server)
    started = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)
    earlier = 0
    seen: dict[int, dict[str, Any]] = {}
    for target in (1, 10, 100):
        while earlier < target:
            run_once(reporter, make_record(f"run-{earlier:05d}", started=started))
            earlier += 1
        record = make_record(f"hb-{earlier:05d}", started=started)
        start = requests_of(rtdb_server, partial(reporter.write, record))
        record.status, record.message = Status.RUNNING, "Command running"
        record.latest = started + dt.timedelta(seconds=30)
        beat = requests_of(rtdb_server, partial(reporter.write, record))
        record.status, record.finished = Status.FINISHED, started + dt.timedelta(seconds=31)
        finish = requests_of(rtdb_server, partial(reporter.write, record))
        earlier += 1
        seen[target] = {"start": start, "beat": beat, "finish": finish, "seq": earlier}

    for target, got in seen.items():
        start = [(r.method, r.path) for r in got["start"]]
        # The claim, then the record write: the previous run is never read (nor judged).
        assert start == [
            ("PUT", f"/{KEY}/commands/{CMD}/seq.json"),
            ("PATCH", f"/{KEY}.json"),
        ], target
        assert [(r.method, r.path) for r in got["beat"]] == [("PATCH", f"/{KEY}.json")]
        assert [(r.method, r.path) for r in got["finish"]] == [("PATCH", f"/{KEY}.json")]

    # A heartbeat carries the record twice (slot and summary) and names its slot once: apart
    # from the decimal digits of seq and slot, its size is the same whatever the history.
    def normalized(target: int) -> int:
        seq = seen[target]["seq"]
        digits = 2 * len(str(seq)) + len(str((seq - 1) % 100))
        return seen[target]["beat"][0].body_bytes - digits

    sizes = {target: seen[target]["beat"][0].body_bytes for target in seen}
    assert normalized(1) == normalized(10) == normalized(100), sizes
    assert max(sizes.values()) - min(sizes.values()) <= 4, sizes
    assert max(sizes.values()) < 1000, sizes


def test_first_start_of_a_command_is_two_requests(rtdb_server: Any, reporter_for: Any) -> None:
    reporter = reporter_for(rtdb_server)
    got = requests_of(rtdb_server, lambda: reporter.write(make_record()))
    assert [r.method for r in got] == ["PUT", "PATCH"]  # no predecessor to look at


def test_a_server_that_does_not_answer_the_increment_with_the_number_is_refused(
    rtdb_server: Any, reporter_for: Any
) -> None:
    """The Realtime Database and its emulator answer the increment with the number it stored.

    A server that echoes the request instead cannot number runs safely: the write is refused
    with a message saying what is needed (the sender logs it and the spool keeps the record),
    never stored under a number another run may hold.
    """
    reporter = reporter_for(rtdb_server)
    rtdb_server.fail_next(1, 200, body={".sv": {"increment": 1}})  # an echo, not a number
    with pytest.raises(ReporterError, match='supports the "increment" server value'):
        reporter.write(make_record())
    assert log_of(rtdb_server) is None  # nothing stored


# --- concurrency ----------------------------------------------------------------------------------


def test_five_concurrent_starts_get_five_slots(rtdb_server: Any, reporter_for: Any) -> None:
    reporter_for(rtdb_server)
    rtdb_server.set_latency(0.01)  # widen the window between read and conditional write
    barrier = threading.Barrier(5)
    errors: list[BaseException] = []

    def start(n: int) -> None:
        reporter = FirebaseReporter(monitor_settings, retry_policy=FAST)  # one per run, as in use
        record = make_record(f"run-{n:05d}", host=f"host-{n}")
        try:
            barrier.wait(timeout=10)
            reporter.write(record)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    rtdb_server.set_latency(0)
    assert errors == []
    log = log_of(rtdb_server)
    assert isinstance(log, list) and len(log) == 5
    assert sorted(r["seq"] for r in log) == [1, 2, 3, 4, 5]
    assert len({r["run_id"] for r in log}) == 5
    assert all(r["seq"] == slot + 1 for slot, r in enumerate(log))
    assert raw_get(rtdb_server, f"{KEY}/commands/{CMD}/seq") == 5


# --- killed runs ----------------------------------------------------------------------------------


def test_a_silent_previous_run_is_stored_as_it_was(rtdb_server: Any, reporter_for: Any) -> None:
    """A writer stores and never judges: readers show a silent run STALE (test_status_page)."""
    reporter = reporter_for(rtdb_server)  # MONITORKIT_STALE_AFTER = 60
    last_beat = utcnow() - dt.timedelta(minutes=10)
    old = make_record("run-old", status=Status.RUNNING, started=last_beat, latest=last_beat)
    reporter.write(old)  # ... and then the process was killed: no finish, no heartbeat
    never_beat = make_record("run-never", started=utcnow() - dt.timedelta(hours=2))
    never_beat.latest = None
    reporter_for().write(never_beat)
    got = requests_of(rtdb_server, lambda: reporter_for().write(make_record("run-new")))
    assert [r.method for r in got] == ["PUT", "PATCH"]  # claim, write: nothing else is read
    first, second, third = log_of(rtdb_server)
    assert (first["run_id"], first["status"]) == ("run-old", "RUNNING")
    assert first["message"] == old.message
    assert (second["run_id"], second["status"]) == ("run-never", "STARTED")
    assert third["run_id"] == "run-new" and third["status"] == "STARTED"
    assert raw_get(rtdb_server, f"{KEY}/latest/{CMD}")["run_id"] == "run-new"


@pytest.mark.parametrize("status", [Status.RUNNING, Status.STARTED, Status.FINISHED])
def test_a_live_or_finished_previous_run_is_left_alone(
    rtdb_server: Any, reporter_for: Any, status: Status
) -> None:
    reporter = reporter_for(rtdb_server)
    fresh = utcnow() - dt.timedelta(seconds=5)
    if status is Status.FINISHED:
        fresh -= dt.timedelta(hours=1)  # long ago, but it finished
    reporter.write(make_record("run-live", status=status, started=fresh, latest=fresh))
    reporter_for().write(make_record("run-new"))
    assert log_of(rtdb_server)[0]["status"] == status.value


# --- a start that was never stored ----------------------------------------------------------------


def test_finish_without_a_stored_start_claims_a_slot(rtdb_server: Any, reporter_for: Any) -> None:
    reporter = reporter_for(rtdb_server)
    record = make_record()
    rtdb_server.fail_next(3, 503)
    with pytest.raises(ReporterError, match="gave up after 3"):
        reporter.write(record)  # the first request failed: nothing was claimed
    record.status, record.finished, record.message = Status.FINISHED, utcnow(), "done"
    got = requests_of(rtdb_server, lambda: reporter.write(record))
    assert [r.method for r in got] == ["PUT", "PATCH"]
    (stored,) = log_of(rtdb_server)
    assert (stored["seq"], stored["status"], stored["run_id"]) == (1, "FINISHED", "run-00001")


def test_heartbeat_after_a_failed_write_reuses_the_claimed_slot(
    rtdb_server: Any, reporter_for: Any
) -> None:
    reporter = reporter_for(rtdb_server)
    deep: dict[str, Any] = {}
    for _ in range(40):  # deeper than the 32 levels Firebase allows: the PATCH gets a 400
        deep = {"d": deep or 1}
    record = make_record(metadata=deep)
    with pytest.raises(ReporterError, match=r"HTTP 400\)"):
        reporter.write(record)  # the run number was claimed, the record was refused
    record.metadata, record.status = {}, Status.RUNNING
    got = requests_of(rtdb_server, lambda: reporter.write(record))
    assert [r.method for r in got] == ["PATCH"]  # no second claim
    (stored,) = log_of(rtdb_server)
    assert (stored["seq"], stored["status"]) == (1, "RUNNING")
    assert raw_get(rtdb_server, f"{KEY}/commands/{CMD}/seq") == 1


# --- faults seen through the reporter and the sender ----------------------------------------------


def test_5xx_then_recovery_through_the_reporter(rtdb_server: Any, reporter_for: Any) -> None:
    reporter = reporter_for(rtdb_server)
    rtdb_server.fail_next(2, 500)
    reporter.write(make_record())
    assert [r.status for r in rtdb_server.requests][:3] == [500, 500, 200]
    assert log_of(rtdb_server)[0]["seq"] == 1


@pytest.mark.parametrize("fault", ["refused", "401", "hang", "malformed"])
def test_the_sender_logs_one_error_without_the_secret(
    fault: str,
    rtdb_server_factory: Any,
    reporter_for: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    settings: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = rtdb_server_factory(secret=SECRET if fault != "401" else "the-real-one")
    url = server.url
    if fault == "refused":
        server.stop()
    elif fault == "hang":
        server.hang(True)
    elif fault == "malformed":
        server.malformed_next(2)  # one for the direct call, one for the sender's
    reporter = reporter_for(DATABASE_URL=url, AUTH_TOKEN=SECRET)
    if fault == "hang":
        settings.MONITORKIT_HTTP_TIMEOUT = 0.5  # each try waits it out: keep them short
    record = make_record()
    with pytest.raises(ReporterError) as caught:
        reporter.write(record)
    deliver_to(reporter, record)
    server.reset_faults()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "monitorkit"
    encoded = requests.utils.quote(SECRET, safe="")
    texts = [caplog.text, str(caught.value), "".join(traceback.format_exception(caught.value))]
    texts += [r.getMessage() for r in caplog.records]
    assert all(SECRET not in t and encoded not in t for t in texts)
    assert capsys.readouterr().out == ""


# --- the read side --------------------------------------------------------------------------------


def test_latest_runs_and_command_history(rtdb_server: Any, reporter_for: Any) -> None:
    reporter = reporter_for(rtdb_server)
    for n in range(3):
        run_once(reporter, make_record(f"run-{n:05d}"))
    reporter.write(make_record("other-1", command_id="send_mail"))
    got = requests_of(rtdb_server, lambda: reporter.latest_runs())
    assert len(got) == 1
    latest = reporter.latest_runs()
    assert [(r.id, r.run_id, r.status, r.seq) for r in latest] == [
        (CMD, "run-00002", Status.FINISHED, 3),
        ("send_mail", "other-1", Status.STARTED, 1),
    ]
    history = reporter.command_history(CMD)
    assert [r.seq for r in history] == [3, 2, 1]
    assert all(isinstance(r, RunRecord) for r in history)
    assert reporter.command_history("never_ran") == []


def test_history_tolerates_django_command_monitor_entries(
    rtdb_server: Any, reporter_for: Any
) -> None:
    legacy = {
        "finished": None,
        "id": CMD,
        "latest": "2020-01-01T10:00:30.000000Z",
        "message": "ok",
        "name": "import_data",
        "params": "limit=10",
        "started": "2020-01-01T10:00:00.000000Z",
        "status": "FINISHED",
        "exception_type": None,
    }
    body = json.dumps([legacy, legacy, "garbage"]).encode()
    requests.put(f"{rtdb_server.url}/{KEY}/commands/{CMD}/log.json", data=body, timeout=5)
    reporter = reporter_for(rtdb_server)
    run_once(reporter, make_record())  # seq 1 takes slot 0
    history = reporter.command_history(CMD)
    assert [r.seq for r in history] == [1, None]  # the kept legacy entry comes last
    assert history[1].status is Status.FINISHED and history[1].run_id == ""


# --- one run, one slot (issue 8, item 5) ----------------------------------------------------------


def finished(record: RunRecord, status: Status, message: str, seconds: float) -> RunRecord:
    """Return a copy of ``record`` finished ``seconds`` after its start."""
    done = copy.deepcopy(record)
    done.status, done.message = status, message
    done.finished = done.latest = record.started + dt.timedelta(seconds=seconds)
    return done


@pytest.mark.parametrize("started", [True, False], ids=["after-a-start", "no-start-stored"])
def test_a_run_finished_twice_keeps_one_slot(
    rtdb_server: Any, reporter_for: Any, started: bool
) -> None:
    """A kill signal is recorded, then the KeyboardInterrupt ends the run: still one run."""
    reporter = reporter_for(rtdb_server)
    record = make_record()
    if started:
        reporter.write(record)
    reporter.write(finished(record, Status.SYSTEM_KILL, "Killed by SIGINT", 1))
    got = requests_of(
        rtdb_server,
        lambda: reporter.write(finished(record, Status.SYSTEM_KILL, "Killed by SIGINT", 2)),
    )
    assert [r.method for r in got] == ["PATCH"]  # no second claim
    (stored,) = log_of(rtdb_server)
    assert (stored["seq"], stored["run_id"], stored["duration"]) == (1, record.run_id, 2.0)
    assert raw_get(rtdb_server, f"{KEY}/commands/{CMD}/seq") == 1
    assert reporter.run_state(record.run_id) == {"seq": 1}


def test_remembered_slots_are_bounded(
    rtdb_server: Any, reporter_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(firebase, "MAX_REMEMBERED_SLOTS", 2)
    reporter = reporter_for(rtdb_server)
    for n in range(1, 4):
        run_once(reporter, make_record(f"run-{n:05d}"))
    assert reporter.run_state("run-00001") == {}  # the oldest was forgotten
    assert reporter.run_state("run-00003") == {"seq": 3}
    assert reporter.run_state("never-ran") == {}


# --- records from the spool (issue 8, item 9) -----------------------------------------------------


def test_a_spooled_record_with_its_run_number_completes_the_run_in_place(
    rtdb_server: Any, reporter_for: Any
) -> None:
    live = reporter_for(rtdb_server)
    record = make_record()
    live.write(record)  # stored; then the backend went away until the process ended
    state = live.run_state(record.run_id)
    done = finished(record, Status.FINISHED, "Command finished", 3)
    got = requests_of(rtdb_server, lambda: reporter_for().deliver_spooled(done, state))
    assert "PUT" not in [r.method for r in got]  # the number is known: never claimed again
    (stored,) = log_of(rtdb_server)
    assert (stored["seq"], stored["status"]) == (1, "FINISHED")
    assert raw_get(rtdb_server, f"{KEY}/latest/{CMD}")["status"] == "FINISHED"
    assert raw_get(rtdb_server, f"{KEY}/commands/{CMD}/seq") == 1


def test_a_spooled_record_without_a_run_number_finds_its_run_in_the_log(
    rtdb_server: Any, reporter_for: Any
) -> None:
    """Its start was stored but the number never reached the spool (another process)."""
    reporter_for(rtdb_server).write(make_record("run-other", started=utcnow()))
    record = make_record()
    reporter_for().write(record)
    done = finished(record, Status.FAILED, "boom", 3)
    got = requests_of(rtdb_server, lambda: reporter_for().deliver_spooled(done, {}))
    assert "PUT" not in [r.method for r in got]
    first, second = log_of(rtdb_server)
    assert (first["run_id"], first["status"]) == ("run-other", "STARTED")
    assert (second["run_id"], second["seq"], second["status"]) == (record.run_id, 2, "FAILED")
    assert raw_get(rtdb_server, f"{KEY}/commands/{CMD}/seq") == 2


def test_a_spooled_file_delivered_twice_stores_the_run_once(
    rtdb_server: Any, reporter_for: Any
) -> None:
    """A process killed between delivering a spool file and deleting it duplicates nothing."""
    reporter_for(rtdb_server)
    done = finished(make_record(), Status.FINISHED, "Command finished", 1)
    for _ in range(2):  # two processes, each with its own reporter, deliver the same file
        reporter_for().deliver_spooled(done, {})
    (stored,) = log_of(rtdb_server)
    assert (stored["seq"], stored["status"]) == (1, "FINISHED")
    assert raw_get(rtdb_server, f"{KEY}/commands/{CMD}/seq") == 1


def test_a_late_spooled_state_never_replaces_a_newer_one(
    rtdb_server: Any, reporter_for: Any
) -> None:
    live = reporter_for(rtdb_server)
    record = make_record()
    live.write(record)
    beat = copy.deepcopy(record)
    beat.status, beat.latest = Status.RUNNING, record.started + dt.timedelta(seconds=30)
    state = live.run_state(record.run_id)
    live.write(finished(record, Status.FINISHED, "Command finished", 10))
    # The heartbeat was spooled during a blip; the finish got through afterwards.
    got = requests_of(rtdb_server, lambda: reporter_for().deliver_spooled(beat, state))
    assert [r.method for r in got] == ["GET", "GET"]  # read the slot and the summary; no write
    (stored,) = log_of(rtdb_server)
    assert (stored["status"], stored["duration"]) == ("FINISHED", 10.0)
    # A later state of a finished run does replace it (a finish stored after a kill's).
    later = finished(record, Status.FAILED, "boom", 20)
    reporter_for().deliver_spooled(later, {})
    assert [(r["status"], r["duration"]) for r in log_of(rtdb_server)] == [("FAILED", 20.0)]


def test_a_spooled_run_appears_after_a_later_run_and_leaves_latest_alone(
    rtdb_server: Any, reporter_for: Any
) -> None:
    """The backend was down for a whole run and back for the next one."""
    early = finished(
        make_record("run-early", started=utcnow() - dt.timedelta(minutes=5)),
        Status.FINISHED,
        "Command finished",
        1,
    )
    run_once(reporter_for(rtdb_server), make_record("run-later"))
    reporter_for().deliver_spooled(early, {})  # nothing of it was ever stored: it claims
    later, spooled = log_of(rtdb_server)
    assert (later["run_id"], later["seq"]) == ("run-later", 1)
    assert (spooled["run_id"], spooled["seq"], spooled["status"]) == ("run-early", 2, "FINISHED")
    assert raw_get(rtdb_server, f"{KEY}/latest/{CMD}")["run_id"] == "run-later"


def test_a_spooled_run_never_overwrites_the_run_that_took_its_slot(
    rtdb_server: Any, reporter_for: Any, settings: Any
) -> None:
    reporter = reporter_for(rtdb_server)
    settings.MONITORKIT_RETENTION = 2
    old = make_record("run-old", started=utcnow() - dt.timedelta(minutes=5))
    reporter.write(old)
    state = reporter.run_state(old.run_id)
    for n in range(2):  # the ring comes round: seq 3 takes the old run's slot
        run_once(reporter_for(), make_record(f"run-{n:05d}"))
    reporter_for().deliver_spooled(finished(old, Status.FINISHED, "done", 1), state)
    assert sorted(r["seq"] for r in log_of(rtdb_server)) == [2, 3]
    assert "run-old" not in {r["run_id"] for r in log_of(rtdb_server)}
