"""The per-channel delivery values (``monitorkit/delivery.py``) and channel names."""

from __future__ import annotations

import datetime as dt

from monitorkit import delivery
from monitorkit.alerts import channels
from monitorkit.alerts.email import EmailNotifier
from monitorkit.alerts.webhook import WebhookNotifier

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


def test_retries_wait_30_s_then_twice_as_long_until_the_bound_then_give_up():
    tried, at, waits = None, T0, []
    while tried is None or tried.state == delivery.PENDING:
        tried = delivery.after_attempt(tried, at, "refused", retry_for=600)
        if tried.retry_at is not None:
            waits.append((tried.retry_at - at).total_seconds())
            at = tried.retry_at
    assert waits == [30, 60, 120, 240, 150]  # the last wait ends at the bound: 600 s
    assert (tried.state, tried.attempts, tried.first_try, tried.last_try) == (
        delivery.FAILED,
        6,
        T0,
        T0 + dt.timedelta(seconds=600),
    )


def test_a_delivery_round_trips_and_states_follow_the_channels():
    sent = delivery.after_attempt(None, T0, None, retry_for=60)
    pending = delivery.after_attempt(None, T0, "token=abcdef0123456789", retry_for=60)
    assert "abcdef0123456789" not in pending.error
    assert delivery.read_deliveries(delivery.stored_deliveries({"a": sent, "b": pending})) == {
        "a": sent,
        "b": pending,
    }
    assert delivery.read_deliveries({"a": "junk", "b": None}) == {}
    assert delivery.alert_state({"a": sent}) == "sent"
    assert delivery.alert_state({"a": sent, "b": pending}) == "retrying"
    assert delivery.alert_state(delivery.superseded({"a": sent, "b": pending})) == "partial"
    assert delivery.alert_state({"b": delivery.gone(pending, T0)}) == "failed"


def test_channels_are_named_by_notifier_and_numbered_when_repeated():
    hooks = [WebhookNotifier(f"https://example.com/hook/{n}") for n in range(3)]
    named = channels([hooks[0], EmailNotifier(to=["ops@example.com"]), hooks[1], hooks[2]])
    assert list(named) == ["webhook", "email", "webhook-2", "webhook-3"]
    assert named["webhook-3"] is hooks[2]


def test_the_states_are_types_that_equal_and_hash_as_their_stored_words() -> None:
    """A row or a JSON node gives the states back as ``str``: they must find the members."""
    import json

    from monitorkit.delivery import AlertState, Delivery, DeliveryState, alert_state
    from monitorkit.stores.health_store import CLAIMABLE, OPEN

    assert "retrying" in OPEN and "sending" not in CLAIMABLE
    assert {"sent": 1}[AlertState.SENT] == 1 and AlertState.PARTIAL in {"partial"}
    assert json.dumps({"alert": AlertState.NONE}) == '{"alert": "none"}'
    assert f"{AlertState.FAILED}" == str(AlertState.FAILED) == "failed"
    one = Delivery(state=DeliveryState.PENDING, attempts=1)
    stored = json.loads(json.dumps(one.as_dict()))
    assert stored["state"] == "pending"
    back = Delivery.from_dict(stored)
    assert back is not None and back.state is DeliveryState.PENDING
    assert alert_state({"email": back}) is AlertState.RETRYING
