"""The output tail in one process: the ring, the stream Tees, and a run's record of them."""

from __future__ import annotations

import io
import sys
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from monitorkit import MonitoredCommand
from monitorkit.conf import monitor_settings
from monitorkit.models import CommandRun
from monitorkit.record import Identity, Outcome, Status
from monitorkit.recording.output import TRIM_SLACK, Capture, OutputTail, Tee, tee_of
from monitorkit.recording.run import MonitoredRun
from monitorkit.redaction import MASK
from monitorkit.stores.database.runs import DatabaseReporter
from tests.test_status_page import XSS, failing

# --- the ring -----------------------------------------------------------------------------------


def kept_units(tail: OutputTail) -> int:
    return sum(len(chunk) for chunk in tail._chunks)


def test_the_tail_keeps_the_end_and_stays_bounded():
    tail = OutputTail(100)
    for number in range(50_000):
        tail.append(f"line {number}\n")
    text = tail.text()
    assert text.endswith("line 49998\nline 49999\n")
    assert len(text) >= 100
    assert text.startswith("line ")  # from the start of a write
    assert len(text) < 100 + len("line 49999\n")  # the fewest writes that hold the limit
    assert kept_units(tail) <= 100 + TRIM_SLACK + len("line 49999\n")


def test_less_than_the_limit_is_kept_whole():
    tail = OutputTail(4096)
    tail.append("a")
    tail.append("b\n")
    assert tail.text() == "ab\n"
    assert OutputTail(10).text() == ""


def test_a_write_bigger_than_the_tail_is_cut_after_a_blank():
    tail = OutputTail(1000)
    tail.append("old line\n")
    big = "".join(f"word{n} " for n in range(TRIM_SLACK // 4))  # more than the tail's slack
    tail.append(big)
    text = tail.text()
    assert big.endswith(text)
    assert 750 <= len(text) <= 1000
    assert text.startswith("word")  # cut just after a blank, never inside a word
    assert kept_units(tail) <= 1000


def test_a_big_write_without_blanks_loses_its_first_quarter():
    tail = OutputTail(400)
    tail.append("x" * (TRIM_SLACK + 1000) + "END")
    assert tail.text() == ("x" * (TRIM_SLACK + 1000) + "END")[-300:]


def test_a_big_write_within_the_slack_is_kept_whole_until_trimmed():
    tail = OutputTail(400)
    tail.append("x" * 10_000 + "END")  # the run scrubs it whole, then cuts it
    assert tail.text() == "x" * 10_000 + "END"


def test_big_writes_keep_memory_bounded():
    tail = OutputTail(1024)
    for _ in range(100):
        tail.append("y" * (TRIM_SLACK + 5000))
    assert kept_units(tail) <= 1024


def test_bytes_and_text_are_kept_in_order_and_bytes_decoded_with_replacement():
    tail = OutputTail(4096)
    tail.append("text ")
    tail.append(b"\xe2\x82")  # a euro sign split over two writes
    tail.append(b"\xac ")
    tail.append(b"bad \xff\xfe ")
    tail.append("more text\n")
    assert tail.text() == "text \u20ac bad \ufffd\ufffd more text\n"


def test_a_reused_bytearray_is_copied_and_odd_objects_are_skipped():
    tail = OutputTail(4096)
    buffer = bytearray(b"first ")
    tail.append(buffer)
    buffer[:] = b"CHANGED"
    tail.append(memoryview(b"view "))
    tail.append(12345)  # a user's stream that takes ints: nothing to keep
    assert tail.text() == "first view "


def test_text_is_safe_while_another_thread_writes():
    tail = OutputTail(256)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        number = 0
        while not stop.is_set():
            tail.append(f"{number} ")
            number += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(2000):
            try:
                text = tail.text()
            except BaseException as err:
                errors.append(err)
                break
            assert text == "" or text.endswith(" ")
    finally:
        stop.set()
        writer.join()
    assert errors == []


# --- the Tee ------------------------------------------------------------------------------------


@pytest.fixture
def tail() -> Any:
    """A tail active in this context (the process streams are Tees meanwhile)."""
    kept = OutputTail(4096)
    capture = Capture(kept)
    yield kept
    capture.stop()


def test_a_tee_forwards_writes_unchanged_and_returns_what_the_stream_returns(tail):
    target = io.StringIO()
    tee = Tee(target)
    assert tee.write("hello\n") == 6
    tee.writelines(["a\n", "b\n"])
    assert target.getvalue() == "hello\na\nb\n"
    assert tail.text() == "hello\na\nb\n"


def test_a_tee_delegates_everything_else_to_its_stream(tmp_path, tail):
    with open(tmp_path / "out.txt", "w", encoding="latin-1", errors="strict") as stream:
        tee = Tee(stream)
        assert tee.fileno() == stream.fileno()
        assert tee.isatty() is False
        assert tee.encoding == "latin-1"
        assert tee.errors == "strict"
        assert tee.closed is False
        tee.write("caf\xe9\n")
        tee.flush()
        assert (tmp_path / "out.txt").read_bytes() == b"caf\xe9\n"
        tee.reconfigure(line_buffering=True)
        assert stream.line_buffering is True
        tee.some_flag = 1  # attributes set on a Tee land on its stream
        assert stream.some_flag == 1  # type: ignore[attr-defined]
    assert tee.closed is True


def test_a_write_the_stream_refuses_is_not_kept(tail):
    tee = Tee(io.StringIO())
    with pytest.raises(TypeError):
        tee.write(b"bytes to a text stream")
    assert tail.text() == ""


def test_the_buffer_of_a_tee_is_a_tee_of_the_buffer(tail):
    target = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    tee = Tee(target)
    assert isinstance(tee.buffer, Tee)
    assert tee.buffer.target is target.buffer
    assert tee.buffer is tee.buffer
    tee.write("text ")
    tee.flush()
    assert tee.buffer.write(b"\x00\xffbin\n") == 6
    tee.buffer.flush()
    assert target.buffer.getvalue() == b"text \x00\xffbin\n"
    assert tail.text() == "text \x00\ufffdbin\n"
    with pytest.raises(AttributeError):
        Tee(io.StringIO()).buffer  # noqa: B018 - a StringIO has none


def test_no_tee_of_a_tee_and_nothing_kept_twice():
    tail = OutputTail(100)
    capture = Capture(tail)  # here, not in a fixture: pytest puts its own sys.stdout back
    try:
        tee = Tee(io.StringIO())
        assert tee_of(tee) is tee
        assert isinstance(sys.stdout, Tee)
        assert tee_of(sys.stdout) is sys.stdout
        assert tee_of(sys.stdout.target) is sys.stdout  # the process Tee, not a second one
        tee_of(tee).write("once\n")
        tee_of(sys.stdout.target).write("twice?\n")
    finally:
        capture.stop()
    assert tail.text() == "once\ntwice?\n"


def test_a_tee_outside_any_run_keeps_nothing():
    tail = OutputTail(100)
    Tee(io.StringIO()).write("nobody's\n")
    assert tail.text() == ""


def test_the_process_streams_are_tees_while_a_run_captures_then_restored():
    stdout, stderr = sys.stdout, sys.stderr
    outer = Capture(OutputTail(100))
    assert isinstance(sys.stdout, Tee) and sys.stdout.target is stdout
    assert isinstance(sys.stderr, Tee) and sys.stderr.target is stderr
    inner = Capture(OutputTail(100))
    assert sys.stdout.target is stdout  # not a Tee of the Tee
    outer.stop()
    assert isinstance(sys.stdout, Tee)  # the inner run still captures
    inner.stop()
    inner.stop()  # twice is harmless
    assert sys.stdout is stdout
    assert sys.stderr is stderr


def test_a_stream_replaced_during_the_run_is_left_in_place():
    stdout = sys.stdout
    capture = Capture(OutputTail(100))
    replacement = io.StringIO()
    sys.stdout = replacement
    try:
        capture.stop()
        assert sys.stdout is replacement
    finally:
        sys.stdout = stdout


def test_each_thread_keeps_its_own_output_and_threads_it_starts_are_not_kept():
    barrier = threading.Barrier(2)
    tails: dict[str, OutputTail] = {}

    def run(name: str) -> None:
        tails[name] = tail = OutputTail(4096)
        capture = Capture(tail)
        try:
            for number in range(200):
                if number % 50 == 0:
                    barrier.wait()
                sys.stdout.write(f"{name}{number} ")
            child = threading.Thread(target=lambda: sys.stdout.write(f"child of {name} "))
            child.start()
            child.join()
        finally:
            capture.stop()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, other in (("A", "B"), ("B", "A")):
        text = tails[name].text()
        assert text.split() == [f"{name}{n}" for n in range(200)]
        assert other not in text and "child" not in text


# --- a run's record -----------------------------------------------------------------------------


def test_heartbeats_and_the_end_carry_the_tail_scrubbed_before_it_is_cut():
    secret = "s3cr3t-t0ken-value"
    run = MonitoredRun(Identity("job", "job", "", secrets=(secret,)), [], monitor_settings)
    run.output_tail = tail = OutputTail(30)
    tail.append("x" * 40 + "\n")
    tail.append(f"token={secret}\n")
    tail.append("y" * 20 + "\n")
    assert "value" in tail.text()[-30:]  # cut first, the end of the secret would be kept
    run.beat()
    assert run.record.output == MASK + "\n" + "y" * 20 + "\n"
    tail.append("last\n")
    run.finish(Outcome(Status.FINISHED, "done", exit_code=0))
    assert run.record.output.endswith("last\n")


def test_a_run_without_a_tail_stores_no_output():
    run = MonitoredRun(Identity("job", "job", ""), [], monitor_settings)
    run.beat()
    assert run.record.output is None


class Printer(MonitoredCommand):
    monitor_command_name = "printer"

    def add_arguments(self, parser):
        parser.add_argument("--api_key", default="")

    def handle(self, *args: Any, **options: Any) -> str:
        self.stdout.write("through self.stdout")
        self.stderr.write("through self.stderr")
        print("through print")
        print(f"the key is {options['api_key']}", file=sys.stderr)
        return "returned"


@pytest.mark.django_db(transaction=True)
def test_a_command_stores_what_it_wrote_through_every_stream_once():
    out, err = io.StringIO(), io.StringIO()
    stdout = sys.stdout
    assert call_command(Printer(), api_key="k3y-9f8e7d", stdout=out, stderr=err) == "returned"
    assert sys.stdout is stdout
    assert out.getvalue() == "through self.stdout\nreturned\n"
    assert err.getvalue() == "through self.stderr\n"
    (run,) = CommandRun.objects.all()
    assert run.output.count("through self.stdout\n") == 1
    assert run.output.count("through print\n") == 1
    assert "through self.stderr\n" in run.output
    assert "the key is ********\n" in run.output
    assert "k3y-9f8e7d" not in run.output
    assert run.output.endswith("returned\n")  # execute writes handle's result within the run


@pytest.mark.django_db(transaction=True)
def test_a_command_writing_to_the_process_streams_keeps_them_unchanged():
    stdout_before = sys.stdout
    command = Printer()  # self.stdout wraps sys.stdout as it is now
    call_command(command)
    wrapped = command.stdout._out
    assert wrapped is stdout_before  # put back
    assert sys.stdout is stdout_before
    (run,) = CommandRun.objects.all()
    assert run.output.count("through self.stdout\n") == 1  # not once per Tee
    assert run.output.count("through print\n") == 1


@pytest.mark.django_db(transaction=True)
def test_with_the_setting_at_zero_nothing_is_touched(monkeypatch):
    touched: list[str] = []
    monkeypatch.setattr("monitorkit.mixins.output.Capture", lambda tail: touched.append("!"))
    stdout = sys.stdout
    seen: list[Any] = []

    class Watch(Printer):
        def handle(self, *args: Any, **options: Any) -> str:
            seen.append((sys.stdout, self.stdout._out))
            return super().handle(*args, **options)

    command = Watch()
    with override_settings(MONITORKIT_OUTPUT_TAIL_KB=0):
        call_command(command)
    assert seen == [(stdout, stdout)]
    assert touched == []
    (run,) = CommandRun.objects.all()
    assert run.output is None


# --- where people read it -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_run_page_and_its_json_show_the_output_escaped(admin_client, settings):
    """The output is on the run's page (the command page's list says only that there is one)."""
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    record = failing("export")
    record.output = f"copied 3 files\n{XSS}\n"
    DatabaseReporter().write(record)
    listed = admin_client.get("/monitor/api/commands/export.json").json()["runs"][0]
    assert listed["has_output"] is True and "output" not in listed
    html = admin_client.get(listed["url"]).content.decode()
    assert "copied 3 files\n&lt;script&gt;alert(1)&lt;/script&gt;\n</pre>" in html
    assert "<script>alert" not in html
    data = admin_client.get(listed["api_url"]).json()
    assert data["output"] == f"copied 3 files\n{XSS}\n"
    assert "<script>alert" not in admin_client.get("/monitor/commands/export/").content.decode()
    overview = admin_client.get("/monitor/api/overview.json").json()
    assert "output" not in overview["commands"][0]["last_run"]  # like the traceback
