"""The official firebase-admin SDK, in emulator mode, against the local server.

The SDK is the independent client: if it works unchanged through FIREBASE_DATABASE_EMULATOR_HOST,
the server speaks the protocol the way the emulator does.
"""

from __future__ import annotations

import uuid

import pytest
import requests

firebase_admin = pytest.importorskip("firebase_admin")
from firebase_admin import credentials, db, exceptions  # noqa: E402 - after the skip check

NAMESPACE = "monitorkit-test"


class CredentialThatMustNotBeUsed(credentials.Base):
    """In emulator mode the SDK uses its own `Bearer owner` credential; fail loudly if not."""

    def get_credential(self):
        raise AssertionError("firebase-admin asked for real credentials: not in emulator mode")


@pytest.fixture
def app(rtdb_server, monkeypatch):
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", rtdb_server.host_port)
    app = firebase_admin.initialize_app(
        CredentialThatMustNotBeUsed(),
        options={"databaseURL": f"https://{NAMESPACE}.firebaseio.com"},
        name=f"rtdb-test-{uuid.uuid4().hex}",
    )
    yield app
    firebase_admin.delete_app(app)


@pytest.fixture
def root(app):
    return db.reference("/", app=app)


def test_set_and_get(root, rtdb_server):
    root.child("users/ada").set({"name": "Ada", "langs": ["en", "fr"]})
    assert root.child("users/ada").get() == {"name": "Ada", "langs": ["en", "fr"]}
    assert root.child("missing").get() is None
    assert rtdb_server.data(NAMESPACE) == {"users": {"ada": {"name": "Ada", "langs": ["en", "fr"]}}}
    assert {r.query["ns"] for r in rtdb_server.requests} == {NAMESPACE}


def test_multi_path_update(root):
    root.set({"a": {"x": 1, "y": 2}, "b": 1})
    root.update({"a/x": 10, "c/d": True, "b": None})
    assert root.get() == {"a": {"x": 10, "y": 2}, "c": {"d": True}}


def test_push_and_delete(root):
    first = root.child("log").push({"n": 1})
    second = root.child("log").push()
    assert len(first.key) == 20 and first.key < second.key
    assert root.child("log").get() == {first.key: {"n": 1}, second.key: ""}
    first.delete()
    assert root.child("log").get() == {second.key: ""}


def test_shallow_get_and_etags(root):
    root.child("s").set({"a": {"deep": 1}, "b": 2})
    assert root.child("s").get(shallow=True) == {"a": True, "b": True}
    value, etag = root.child("s").get(etag=True)
    assert value == {"a": {"deep": 1}, "b": 2} and etag
    assert root.child("s").get_if_changed(etag) == (False, None, None)
    ok, _, new_etag = root.child("s").set_if_unchanged(etag, {"c": 3})
    assert ok and new_etag != etag
    assert root.child("s").set_if_unchanged(etag, {"d": 4}) == (False, {"c": 3}, new_etag)


@pytest.fixture
def scores(root):
    root.child("scores").set(
        {
            "ada": {"score": 30, "team": "red"},
            "bob": {"score": 10, "team": "blue"},
            "cy": {"score": 20, "team": "red"},
            "dee": {"score": 40, "team": "blue"},
        }
    )
    return root.child("scores")


def test_order_by_child_queries(scores):
    assert list(scores.order_by_child("score").limit_to_first(2).get()) == ["bob", "cy"]
    assert list(scores.order_by_child("score").limit_to_last(2).get()) == ["ada", "dee"]
    ranged = scores.order_by_child("score").start_at(15).end_at(35).get()
    assert list(ranged) == ["cy", "ada"]
    red = scores.order_by_child("team").equal_to("red").get()
    assert list(red) == ["ada", "cy"]


def test_order_by_key_queries(scores):
    assert list(scores.order_by_key().limit_to_first(1).get()) == ["ada"]
    assert list(scores.order_by_key().start_at("b").end_at("cz").get()) == ["bob", "cy"]
    assert list(scores.order_by_key().limit_to_last(1).get()) == ["dee"]


def test_order_by_value_queries(root):
    root.child("v").set({"a": 3, "b": 1, "c": "text", "d": 2})
    assert list(root.child("v").order_by_value().limit_to_first(2).get()) == ["b", "d"]
    assert list(root.child("v").order_by_value().limit_to_last(1).get()) == ["c"]
    assert dict(root.child("v").order_by_value().start_at(2).end_at(3).get()) == {"d": 2, "a": 3}
    assert dict(root.child("v").order_by_value().equal_to("text").get()) == {"c": "text"}


def test_transaction_retries_after_a_concurrent_write(root, rtdb_server):
    counter = root.child("counter")
    counter.set(1)
    raw_url = f"{rtdb_server.url}/counter.json?ns={NAMESPACE}"
    seen = []

    def add_one(current):
        seen.append(current)
        if len(seen) == 1:  # another client writes between the SDK's GET and its PUT
            assert requests.put(raw_url, json=100, timeout=5).status_code == 200
        return current + 1

    assert counter.transaction(add_one) == 101
    assert seen == [1, 100]
    assert counter.get() == 101
    assert [r.status for r in rtdb_server.requests if r.method == "PUT"][-2:] == [412, 200]


def test_transaction_on_a_missing_node(root):
    assert root.child("fresh").transaction(lambda current: (current or 0) + 5) == 5
    assert root.child("fresh").get() == 5


def test_sdk_retries_a_503(root, rtdb_server):
    root.child("a").set(1)
    rtdb_server.clear_requests()
    rtdb_server.fail_next(1, status=503)
    assert root.child("a").get() == 1
    assert [r.status for r in rtdb_server.requests] == [503, 200]


def test_sdk_refreshes_its_credential_once_on_a_401(root, rtdb_server):
    rtdb_server.fail_next(1, status=401, body={"error": "Permission denied"})
    assert root.child("a").get() is None
    assert [r.status for r in rtdb_server.requests] == [401, 200]


def test_sdk_reports_server_errors(root, rtdb_server):
    rtdb_server.fail_next(1, status=404, body={"error": "Database not found"})
    with pytest.raises(exceptions.NotFoundError, match="Database not found"):
        root.child("a").get()
    with pytest.raises(exceptions.InvalidArgumentError, match="server value"):
        root.child("a").set({".sv": "bogus"})


def test_sdk_is_admin_on_a_server_with_a_secret(rtdb_server_factory, monkeypatch):
    server = rtdb_server_factory(secret="s3cret")
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", server.host_port)
    app = firebase_admin.initialize_app(
        CredentialThatMustNotBeUsed(),
        options={"databaseURL": f"https://{NAMESPACE}.firebaseio.com"},
        name=f"rtdb-test-{uuid.uuid4().hex}",
    )
    try:
        db.reference("x", app=app).set(1)  # the SDK sends `Authorization: Bearer owner`
        assert server.data(NAMESPACE) == {"x": 1}
    finally:
        firebase_admin.delete_app(app)
