"""The REST surface of the local Realtime Database server, over real HTTP with `requests`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from monitorkit.testing import RealtimeDatabaseServer
from monitorkit.testing.rtdb_rest import PUSH_CHARS, PushIdGenerator

TIMEOUT = 5


@pytest.fixture
def url(rtdb_server):
    """Build `<server>/<path>.json` URLs."""
    return lambda path="": f"{rtdb_server.url}/{path}.json"


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def error_of(response) -> str:
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.json()["error"]


# --- addresses and lifecycle ---


def test_url_and_host_port_name_the_bound_port(rtdb_server):
    assert rtdb_server.port > 0
    assert rtdb_server.url == f"http://127.0.0.1:{rtdb_server.port}"
    assert rtdb_server.host_port == f"127.0.0.1:{rtdb_server.port}"


def test_address_is_unknown_before_start():
    with pytest.raises(RuntimeError, match="start"):
        RealtimeDatabaseServer().url  # noqa: B018


def test_stop_closes_kept_alive_connections(http):
    server = RealtimeDatabaseServer().start()
    address = server.url + "/a.json"
    assert http.put(address, json=1, timeout=TIMEOUT).status_code == 200
    server.stop()
    server.stop()  # a second stop is harmless
    with pytest.raises(requests.ConnectionError):
        http.get(address, timeout=TIMEOUT)


def test_start_on_a_running_server_keeps_it_as_it_is():
    """A factory's server is already started; `with` on it must not bind a second socket."""
    server = RealtimeDatabaseServer().start()
    port = server.port
    with server as same:
        assert same is server and server.port == port
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018 - stopped by the with block


# --- methods ---


def test_get_of_a_missing_location_is_null(url, http):
    response = http.get(url("nothing"), timeout=TIMEOUT)
    assert (response.status_code, response.text) == (200, "null")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_put_answers_with_the_data_written(rtdb_server, url, http):
    response = http.put(url("users/ada"), json={"name": "Ada", "gone": None}, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (200, {"name": "Ada"})
    assert http.get(url("users/ada/name"), timeout=TIMEOUT).json() == "Ada"
    assert rtdb_server.data() == {"users": {"ada": {"name": "Ada"}}}


def test_post_adds_a_child_under_a_push_id(rtdb_server, url, http):
    names = [http.post(url("log"), json={"i": i}, timeout=TIMEOUT).json()["name"] for i in range(5)]
    assert all(re.fullmatch(r"[-0-9A-Za-z_]{20}", name) for name in names)
    assert sorted(names) == names  # increasing, so children sort in insertion order
    assert [rtdb_server.data()["log"][name]["i"] for name in names] == list(range(5))


def test_push_ids_increase_within_one_millisecond(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1700000000.0)
    generator = PushIdGenerator()
    ids = [generator.next_id() for _ in range(200)]
    assert len(set(ids)) == 200 and sorted(ids) == ids
    assert {id_[:8] for id_ in ids} == {ids[0][:8]}
    assert set("".join(ids)) <= set(PUSH_CHARS)


def test_patch_updates_children_and_answers_with_the_patch(url, http):
    http.put(url("u"), json={"name": "Ada", "tags": {"a": 1, "b": 2}, "age": 1}, timeout=TIMEOUT)
    patch = {"age": 2, "tags": {"c": 3}, "name": None}
    response = http.patch(url("u"), json=patch, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (200, patch)
    assert http.get(url("u"), timeout=TIMEOUT).json() == {"age": 2, "tags": {"c": 3}}


def test_multi_path_patch(url, http):
    http.put(url(), json={"a": {"x": 1, "y": 2}}, timeout=TIMEOUT)
    response = http.patch(url(), json={"a/x": 10, "b/c/d": "new"}, timeout=TIMEOUT)
    assert response.status_code == 200
    assert http.get(url(), timeout=TIMEOUT).json() == {
        "a": {"x": 10, "y": 2},
        "b": {"c": {"d": "new"}},
    }


def test_multi_path_patch_is_atomic(rtdb_server, url, http):
    http.put(url(), json={"a": 1}, timeout=TIMEOUT)
    response = http.patch(url(), json={"a": 2, "b/bad#key": 3}, timeout=TIMEOUT)
    assert response.status_code == 400 and "bad#key" in error_of(response)
    overlapping = http.patch(url(), json={"a": 2, "a/b": 3}, timeout=TIMEOUT)
    assert overlapping.status_code == 400
    assert rtdb_server.data() == {"a": 1}


def test_patch_body_must_be_an_object(url, http):
    assert http.patch(url("a"), json=[1], timeout=TIMEOUT).status_code == 400


def test_delete_answers_null(rtdb_server, url, http):
    http.put(url("a/b"), json=1, timeout=TIMEOUT)
    http.put(url("c"), json=2, timeout=TIMEOUT)
    response = http.delete(url("a/b"), timeout=TIMEOUT)
    assert (response.status_code, response.text) == (200, "null")
    assert rtdb_server.data() == {"c": 2}


def test_arrays_come_back_by_firebases_rule(url, http):
    http.put(url("l"), json=["a", "b", "c"], timeout=TIMEOUT)
    assert http.get(url("l"), timeout=TIMEOUT).json() == ["a", "b", "c"]
    http.delete(url("l/1"), timeout=TIMEOUT)  # 2 of 3 keys left: still an array
    assert http.get(url("l"), timeout=TIMEOUT).json() == ["a", None, "c"]
    http.delete(url("l/0"), timeout=TIMEOUT)  # only "2" of 0..2: an object
    assert http.get(url("l"), timeout=TIMEOUT).json() == {"2": "c"}


def test_server_values(url, http):
    before = int(time.time() * 1000)
    written = http.put(url("t"), json={".sv": "timestamp"}, timeout=TIMEOUT).json()
    assert written >= before and http.get(url("t"), timeout=TIMEOUT).json() == written
    assert http.put(url("n/m"), json={".sv": {"increment": 5}}, timeout=TIMEOUT).json() == 5
    http.patch(url("n"), json={"m": {".sv": {"increment": 2}}}, timeout=TIMEOUT)
    assert http.get(url("n/m"), timeout=TIMEOUT).json() == 7
    bad = http.put(url("n/m"), json={".sv": "bogus"}, timeout=TIMEOUT)
    assert bad.status_code == 400 and error_of(bad)
    assert http.get(url("n/m"), timeout=TIMEOUT).json() == 7


# --- paths, keys and bodies ---


def test_a_path_without_json_suffix_is_404(rtdb_server, http):
    response = http.get(f"{rtdb_server.url}/users", timeout=TIMEOUT)
    assert response.status_code == 404 and ".json" in error_of(response)


@pytest.mark.parametrize("path", ["a%23b", "a$b", "a%5B0%5D", "a%2Fb", "ctl%01"])
def test_invalid_keys_in_the_url_are_400(url, http, path):
    response = http.put(url(path), json=1, timeout=TIMEOUT)
    assert response.status_code == 400 and error_of(response)


def test_percent_encoded_keys_are_decoded(rtdb_server, url, http):
    http.put(url("caf%C3%A9%20bar"), json=1, timeout=TIMEOUT)
    assert rtdb_server.data() == {"café bar": 1}


def test_depth_limit(url, http):
    assert http.get(url("/".join(["k"] * 32)), timeout=TIMEOUT).status_code == 400
    deep = url("/".join(["k"] * 30))
    assert http.put(deep, json={"leaf": 1}, timeout=TIMEOUT).status_code == 200
    assert http.put(deep, json={"a": {"b": 1}}, timeout=TIMEOUT).status_code == 400


def test_invalid_keys_in_data_are_400(rtdb_server, url, http):
    response = http.put(url("a"), json={"ok": 1, "no.dots": 2}, timeout=TIMEOUT)
    assert response.status_code == 400 and "no.dots" in error_of(response)
    long_key = http.put(url("a"), json={"k" * 769: 1}, timeout=TIMEOUT)
    assert long_key.status_code == 400
    assert rtdb_server.data() is None


@pytest.mark.parametrize("body", [b"", b"{not json", b"NaN", b"\xff\xfe"])
def test_unparseable_bodies_are_400(url, http, body):
    response = http.put(url("a"), data=body, timeout=TIMEOUT)
    assert response.status_code == 400 and "couldn't parse" in error_of(response)


def test_chunked_request_bodies_are_read(rtdb_server, url, http):
    response = http.put(url("a"), data=iter([b'{"x":', b" 1}"]), timeout=TIMEOUT)
    assert response.status_code == 200 and rtdb_server.data() == {"a": {"x": 1}}


def raw_exchange(server: RealtimeDatabaseServer, request: bytes) -> tuple[bytes, bytes]:
    """Send bytes `requests` would never send; return the answer's head and body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


def test_chunked_trailers_are_skipped(rtdb_server):
    """The trailer must be consumed, or it is read as the next request on the connection."""
    write = (
        b"PUT /a.json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1\r\n7\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    read = b"GET /a.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    head, body = raw_exchange(rtdb_server, write + read)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body.count(b"HTTP/1.1 200 ") == 1 and body.endswith(b"\r\n\r\n7")
    assert rtdb_server.data() == {"a": 7}


def test_a_content_length_that_is_not_a_number_is_400_in_json(rtdb_server):
    # No Connection: close; the server closes the connection after an HTTP error of its own.
    head, body = raw_exchange(
        rtdb_server, b"PUT /a.json HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"
    )
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body) == {"error": "Invalid Content-Length"}
    assert rtdb_server.data() is None


def test_unsupported_http_methods_answer_json(url, http):
    response = http.options(url("a"), timeout=TIMEOUT)
    assert response.status_code == 501 and error_of(response)


def test_streaming_is_refused_clearly(url, http):
    response = http.get(url("a"), headers={"Accept": "text/event-stream"}, timeout=TIMEOUT)
    assert response.status_code == 400 and "not supported" in error_of(response)


# --- namespaces ---


def test_ns_parameter_selects_a_namespace(rtdb_server, url, http):
    http.put(url("a"), params={"ns": "one"}, json=1, timeout=TIMEOUT)
    http.put(url("a"), params={"ns": "two"}, json=2, timeout=TIMEOUT)
    http.put(url("a"), json=3, timeout=TIMEOUT)
    assert http.get(url("a"), params={"ns": "one"}, timeout=TIMEOUT).json() == 1
    assert (rtdb_server.data("one"), rtdb_server.data("two")) == ({"a": 1}, {"a": 2})
    assert rtdb_server.data() == rtdb_server.data("default") == {"a": 3}
    assert rtdb_server.data("never-used") is None


def test_without_ns_the_host_names_the_namespace(rtdb_server, url, http):
    http.put(url("a"), headers={"Host": "mydb.firebaseio.com"}, json=1, timeout=TIMEOUT)
    http.put(url("a"), headers={"Host": "localhost:9000"}, json=2, timeout=TIMEOUT)
    assert rtdb_server.data("mydb") == {"a": 1}
    assert rtdb_server.data() == {"a": 2}


# --- print and method override ---


@pytest.mark.parametrize("method", ["get", "put", "post", "patch", "delete"])
def test_print_silent_answers_204_without_body(url, http, method):
    kwargs = {} if method in ("get", "delete") else {"json": {"a": 1}}
    response = http.request(method, url("x"), params={"print": "silent"}, timeout=TIMEOUT, **kwargs)
    assert (response.status_code, response.content) == (204, b"")


def test_print_silent_keeps_errors(url, http):
    response = http.put(url("a%23"), params={"print": "silent"}, json=1, timeout=TIMEOUT)
    assert response.status_code == 400 and error_of(response)


def test_print_pretty_indents(url, http):
    http.put(url("a"), json={"b": 1}, timeout=TIMEOUT)
    response = http.get(url("a"), params={"print": "pretty"}, timeout=TIMEOUT)
    assert response.text == json.dumps({"b": 1}, indent=2)
    assert http.get(url("a"), params={"print": "loud"}, timeout=TIMEOUT).status_code == 400


def test_method_override_header_and_query_tunnel_through_post(rtdb_server, url, http):
    http.put(url(), json={"a": 1, "b": 2}, timeout=TIMEOUT)
    http.post(url(), headers={"X-HTTP-Method-Override": "PATCH"}, json={"a": 5}, timeout=TIMEOUT)
    http.post(url("b"), params={"x-http-method-override": "DELETE"}, timeout=TIMEOUT)
    assert rtdb_server.data() == {"a": 5}
    bogus = http.post(url(), headers={"X-HTTP-Method-Override": "FROB"}, timeout=TIMEOUT)
    assert bogus.status_code == 400


# --- ETags and conditional requests ---


def get_etag(http, address) -> str:
    return http.get(address, headers={"X-Firebase-ETag": "true"}, timeout=TIMEOUT).headers["ETag"]


def test_etags_are_given_when_asked(url, http):
    assert "ETag" not in http.get(url("a"), timeout=TIMEOUT).headers
    assert get_etag(http, url("a")) == "null_etag"
    put = http.put(url("a"), json=1, headers={"X-Firebase-ETag": "true"}, timeout=TIMEOUT)
    assert put.headers["ETag"] == get_etag(http, url("a")) != "null_etag"
    patch = http.patch(url(), json={"b": 1}, headers={"X-Firebase-ETag": "true"}, timeout=TIMEOUT)
    assert patch.status_code == 200 and "ETag" not in patch.headers
    delete = http.delete(url("a"), headers={"X-Firebase-ETag": "true"}, timeout=TIMEOUT)
    assert delete.headers["ETag"] == "null_etag"


def test_if_match_put_succeeds_on_the_current_etag(url, http):
    http.put(url("n"), json=1, timeout=TIMEOUT)
    response = http.put(
        url("n"), json=2, headers={"if-match": get_etag(http, url("n"))}, timeout=TIMEOUT
    )
    assert (response.status_code, response.json()) == (200, 2)
    assert response.headers["ETag"] == get_etag(http, url("n"))


def test_if_match_mismatch_is_412_with_current_etag_and_value(url, http):
    http.put(url("n"), json={"v": 1}, timeout=TIMEOUT)
    stale = get_etag(http, url("n"))
    http.put(url("n/v"), json=2, timeout=TIMEOUT)
    for method in ("put", "delete"):
        response = http.request(
            method, url("n"), json=9, headers={"if-match": stale}, timeout=TIMEOUT
        )
        assert (response.status_code, response.json()) == (412, {"v": 2})
        assert response.headers["ETag"] == get_etag(http, url("n"))
    assert http.get(url("n"), timeout=TIMEOUT).json() == {"v": 2}


def test_if_match_on_a_null_location(url, http):
    assert (
        http.put(url("new"), json=1, headers={"if-match": "null_etag"}, timeout=TIMEOUT).status_code
        == 200
    )
    conflict = http.put(url("new"), json=2, headers={"if-match": "null_etag"}, timeout=TIMEOUT)
    assert (conflict.status_code, conflict.json()) == (412, 1)


@pytest.mark.parametrize("method", ["get", "patch", "post"])
def test_if_match_elsewhere_is_400(url, http, method):
    response = http.request(
        method, url("a"), json={"b": 1}, headers={"if-match": "x"}, timeout=TIMEOUT
    )
    assert response.status_code == 400 and error_of(response)


def test_if_none_match_answers_304_when_unchanged(url, http):
    http.put(url("a"), json=1, timeout=TIMEOUT)
    etag = get_etag(http, url("a"))
    unchanged = http.get(url("a"), headers={"if-none-match": etag}, timeout=TIMEOUT)
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    http.put(url("a"), json=2, timeout=TIMEOUT)
    changed = http.get(url("a"), headers={"if-none-match": etag}, timeout=TIMEOUT)
    assert (changed.status_code, changed.json()) == (200, 2)
    assert changed.headers["ETag"] == get_etag(http, url("a")) != etag


# --- queries ---


def test_queries_over_http(url, http):
    http.put(
        url("s"),
        json={"ada": {"score": 3}, "bob": {"score": 1}, "cy": {"score": 2}},
        timeout=TIMEOUT,
    )

    def ask(**params):
        return http.get(url("s"), params=params, timeout=TIMEOUT)

    assert ask(orderBy='"$key"', limitToFirst=1).json() == {"ada": {"score": 3}}
    assert set(ask(orderBy='"score"', limitToLast=2).json()) == {"ada", "cy"}
    assert set(ask(orderBy='"score"', startAt=2, endAt=3).json()) == {"ada", "cy"}
    assert ask(orderBy='"score"', equalTo=1).json() == {"bob": {"score": 1}}
    assert ask(shallow="true").json() == {"ada": True, "bob": True, "cy": True}
    missing = ask(limitToFirst=1)
    assert missing.status_code == 400 and "orderBy" in error_of(missing)
    assert ask(orderBy="$key").status_code == 400  # orderBy takes a JSON-quoted value


# --- auth ---


def test_without_a_secret_everything_is_allowed(url, http):
    assert http.get(url("a"), params={"auth": "whatever"}, timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize(
    "credential",
    [
        {"params": {"auth": "s3cret"}},
        {"params": {"access_token": "s3cret"}},
        {"headers": {"Authorization": "Bearer s3cret"}},
        {"headers": {"Authorization": "Bearer owner"}},
    ],
)
def test_a_secret_accepts_the_documented_credentials(rtdb_server_factory, http, credential):
    server = rtdb_server_factory(secret="s3cret")
    response = http.put(f"{server.url}/a.json", json=1, timeout=TIMEOUT, **credential)
    assert response.status_code == 200 and server.data() == {"a": 1}


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"params": {"auth": "wrong"}},
        {"headers": {"Authorization": "Bearer wrong"}},
        {"headers": {"Authorization": "Basic s3cret"}},
    ],
)
def test_a_secret_refuses_everything_else_with_401(rtdb_server_factory, http, credential):
    server = rtdb_server_factory(secret="s3cret")
    response = http.put(f"{server.url}/a.json", json=1, timeout=TIMEOUT, **credential)
    assert (response.status_code, response.json()) == (401, {"error": "Permission denied"})
    assert server.data() is None


# --- persistence ---


def test_data_survives_a_restart(tmp_path, http):
    store = tmp_path / "rtdb.json"
    with RealtimeDatabaseServer(persist_path=store) as first:
        http.put(f"{first.url}/a.json", json={"list": [1, 2]}, timeout=TIMEOUT)
        http.put(f"{first.url}/b.json", params={"ns": "other"}, json=True, timeout=TIMEOUT)
    assert json.loads(store.read_text())["namespaces"]["other"] == {"b": True}
    assert [p.name for p in tmp_path.iterdir()] == ["rtdb.json"]  # no temporary files left
    with RealtimeDatabaseServer(persist_path=store) as second:
        assert http.get(f"{second.url}/a/list.json", timeout=TIMEOUT).json() == [1, 2]
        assert second.data("other") == {"b": True}


def test_persistence_starts_empty_without_a_file(tmp_path):
    with RealtimeDatabaseServer(persist_path=tmp_path / "absent.json") as server:
        assert server.data() is None


def test_persistence_refuses_a_file_of_the_wrong_shape(tmp_path):
    store = tmp_path / "rtdb.json"
    store.write_text("[1]")
    with pytest.raises(ValueError, match="namespaces"):
        RealtimeDatabaseServer(persist_path=store).start()


# --- request log ---


def test_requests_are_logged(rtdb_server, url, http):
    http.put(url("a"), params={"ns": "x"}, data=b'{"k": 1}', timeout=TIMEOUT)
    http.get(url("a%23"), timeout=TIMEOUT)
    (put, bad) = rtdb_server.requests
    assert (put.method, put.path, put.query, put.body_bytes, put.status) == (
        "PUT",
        "/a.json",
        {"ns": "x"},
        8,
        200,
    )
    assert (bad.method, bad.status) == ("GET", 400)
    rtdb_server.clear_requests()
    assert rtdb_server.requests == []


# --- fault injection ---


def test_latency_delays_every_answer(rtdb_server, url, http):
    rtdb_server.set_latency(0.1)
    started = time.monotonic()
    assert http.get(url("a"), timeout=TIMEOUT).status_code == 200
    assert time.monotonic() - started >= 0.1
    rtdb_server.set_latency(0)


def test_requests_are_stamped_when_received_and_answered(rtdb_server, url, http):
    rtdb_server.set_latency(0.05)
    before = time.monotonic()
    assert http.put(url("a"), json=1, timeout=TIMEOUT).status_code == 200
    after = time.monotonic()
    rtdb_server.set_latency(0)
    (put,) = rtdb_server.requests
    assert before <= put.received <= put.answered <= after
    assert put.answered - put.received >= 0.05


def test_latency_jitter_varies_the_wait_of_each_request(rtdb_server, url, http):
    rtdb_server.set_latency(0.05, jitter=0.05)
    for _ in range(8):
        assert http.get(url("a"), timeout=TIMEOUT).status_code == 200
    rtdb_server.set_latency(0)
    waits = [r.answered - r.received for r in rtdb_server.requests]
    assert all(0 <= wait < 0.1 + 0.5 for wait in waits)  # 0.5: a slow thread, not the jitter
    assert max(waits) - min(waits) > 0.005  # eight uniform draws over 100 ms: never all alike


def test_open_connections_counts_until_each_client_connection_is_done(rtdb_server, url):
    assert rtdb_server.open_connections == 0
    with requests.Session() as session:
        assert session.get(url("a"), timeout=TIMEOUT).status_code == 200
        assert rtdb_server.open_connections == 1  # kept alive
    wait_until(lambda: rtdb_server.open_connections == 0)


def test_fail_next_answers_without_applying(rtdb_server, url, http):
    rtdb_server.fail_next(2)
    for _ in range(2):
        failed = http.put(url("a"), json=1, timeout=TIMEOUT)
        assert (failed.status_code, failed.json()) == (503, {"error": "Service Unavailable"})
    assert rtdb_server.data() is None
    assert http.put(url("a"), json=1, timeout=TIMEOUT).status_code == 200
    assert [r.status for r in rtdb_server.requests] == [503, 503, 200]


@pytest.mark.parametrize("status", [500, 401])
def test_fail_next_with_other_statuses(rtdb_server, url, http, status):
    rtdb_server.fail_next(1, status=status)
    assert http.get(url("a"), timeout=TIMEOUT).status_code == status


def test_fail_next_with_headers_and_a_custom_body(rtdb_server, url, http):
    rtdb_server.fail_next(1, status=429, headers={"Retry-After": "1"}, body={"error": "slow"})
    rtdb_server.fail_next(1, status=500, body="<html>oops</html>")
    throttled = http.get(url("a"), timeout=TIMEOUT)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "1")
    assert throttled.json() == {"error": "slow"}
    assert http.get(url("a"), timeout=TIMEOUT).text == "<html>oops</html>"


def test_malformed_next_answers_200_with_invalid_json(rtdb_server, url, http):
    rtdb_server.malformed_next(1)
    response = http.put(url("a"), json=1, timeout=TIMEOUT)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert rtdb_server.data() is None
    assert http.get(url("a"), timeout=TIMEOUT).json() is None


def test_hang_holds_requests_unanswered_until_released(rtdb_server, url, http):
    rtdb_server.hang(True)
    with pytest.raises(requests.ReadTimeout):
        requests.put(url("a"), json=1, timeout=0.2)
    assert rtdb_server.held_requests == 1
    rtdb_server.hang(False)
    wait_until(lambda: rtdb_server.held_requests == 0)
    assert http.get(url("a"), timeout=TIMEOUT).json() is None  # the held write was dropped
    assert [r.status for r in rtdb_server.requests][-1] == 200


def test_pause_holds_requests_and_applies_them_when_it_ends(rtdb_server, url, http):
    rtdb_server.pause()
    answers: list[requests.Response] = []
    writer = threading.Thread(
        target=lambda: answers.append(http.put(url("a"), json=1, timeout=TIMEOUT))
    )
    writer.start()
    wait_until(lambda: rtdb_server.paused_requests == 1)
    assert rtdb_server.data() is None and answers == []  # held: neither applied nor answered
    rtdb_server.pause(False)
    writer.join(TIMEOUT)
    assert rtdb_server.paused_requests == 0
    assert [answer.json() for answer in answers] == [1]
    assert rtdb_server.data() == {"a": 1}


def test_pause_does_not_block_stop():
    server = RealtimeDatabaseServer().start()
    server.pause()
    outcome = []

    def client():
        try:
            outcome.append(requests.get(server.url + "/a.json", timeout=TIMEOUT).status_code)
        except requests.RequestException as error:
            outcome.append(error)

    thread = threading.Thread(target=client)
    thread.start()
    wait_until(lambda: server.paused_requests == 1)
    server.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert len(outcome) == 1


def wait_until(condition) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_hang_does_not_block_stop():
    server = RealtimeDatabaseServer().start()
    server.hang(True)
    outcome = []

    def client():
        try:
            requests.get(server.url + "/a.json", timeout=TIMEOUT)
        except requests.RequestException as error:
            outcome.append(error)

    threads = [threading.Thread(target=client), threading.Thread(target=server.stop)]
    threads[0].start()
    wait_until(lambda: server.held_requests == 1)
    threads[1].start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert isinstance(outcome[0], requests.ConnectionError)  # dropped, not answered
    assert [r.status for r in server.requests] == [None]


def test_reset_faults_clears_everything(rtdb_server, url, http):
    rtdb_server.set_latency(30)
    rtdb_server.fail_next(3)
    rtdb_server.malformed_next(3)
    rtdb_server.hang(True)
    rtdb_server.pause()
    rtdb_server.reset_faults()
    assert http.get(url("a"), timeout=TIMEOUT).status_code == 200


# --- command line ---


def test_command_line_serves_until_sigterm(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitorkit.testing",
            "--port",
            "0",
            "--secret",
            "s",
            "--persist",
            str(tmp_path / "db.json"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = process.stderr.readline()
        base = re.search(r"http://[\d.]+:\d+", line).group(0)
        assert requests.put(f"{base}/a.json?auth=s", json=1, timeout=TIMEOUT).status_code == 200
        assert requests.get(f"{base}/a.json", timeout=TIMEOUT).status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0
    finally:
        process.kill()
        process.stderr.close()
    assert json.loads((tmp_path / "db.json").read_text()) == {"namespaces": {"default": {"a": 1}}}
