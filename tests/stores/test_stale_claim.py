"""A watcher that read an alert before another sent it cannot claim it again (each store).

Another watcher may send an alert and leave it open (a channel retrying, or a flapping notice
waiting for its command to settle): the first watcher's read of it, and of which channels it
reached, is then old. Its claim must fail, or it sends again what was sent (seen: a flapping
notice twice with three watchers at once). The claim holds only in the state the claimant read.
"""

from __future__ import annotations

# ruff: noqa: F811 - ``reporter`` is test_one_judge's fixture (each store), used by name here
import datetime as dt

import pytest

from monitorkit import delivery
from monitorkit.delivery import Delivery
from monitorkit.record import utcnow
from monitorkit.stores.base import Reporter
from monitorkit.stores.health_store import PENDING, RETRYING, HealthState
from monitorkit.transitions import Transition
from tests.stores.test_database import pg_alias  # noqa: F401 - the PostgreSQL store's fixture
from tests.stores.test_one_judge import reporter  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_alert_sent_and_left_open_by_another_watcher_is_not_claimed_again(
    reporter: Reporter,
) -> None:
    store = reporter.health_store()
    assert store is not None
    now = utcnow()
    first = HealthState("nightly", "OK", now, now, 0)
    store.record_first_sight(first)
    transition = Transition("nightly", "OK", "FAILING", now)
    after = HealthState("nightly", "FAILING", now, now, 1)
    assert store.record_transition(first, after, transition, PENDING)
    (read_by_a,) = store.open_alerts()
    (read_by_b,) = store.open_alerts()  # both read it before either sends
    assert read_by_a.state == read_by_b.state == PENDING

    assert store.claim_alert(read_by_a, now, 60)
    deliveries = {
        "webhook": Delivery(delivery.SENT, 1, now, now),
        "email": Delivery(delivery.PENDING, 1, now, now, now + dt.timedelta(seconds=30), "down"),
    }
    store.settle_alert(read_by_a, RETRYING, "sent by webhook; email retrying", now, deliveries)

    assert not store.claim_alert(read_by_b, now, 60)  # B's read is older than A's sending
    (fresh,) = store.open_alerts()
    assert fresh.state == RETRYING and fresh.deliveries["webhook"].state == delivery.SENT
    assert store.claim_alert(fresh, now + dt.timedelta(seconds=31), 60)  # the retry, as read
