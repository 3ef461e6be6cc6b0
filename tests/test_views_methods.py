"""Every view of the status page, its JSON and the metrics answers GET and HEAD only.

They only read; anything else is a 405 naming what is allowed, whoever asks (staff included)
and before anything is read from the store.
"""

from __future__ import annotations

import pytest

from tests.stores.test_database import make_record
from tests.test_status_page import store

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "s3cret-token"
VIEWS = [
    "/monitor/",
    "/monitor/commands/export/",
    "/monitor/api/overview.json",
    "/monitor/api/commands/export.json",
    "/monitor/metrics",
]


@pytest.fixture(autouse=True)
def _runs_and_token(settings):
    settings.MONITORKIT_SCHEDULES = {"scheduled_command": {"schedule": None}}
    settings.MONITORKIT_METRICS_TOKEN = TOKEN
    store(make_record("export"), 2.0)


@pytest.mark.parametrize("url", VIEWS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_method_that_is_not_get_or_head_is_refused(admin_client, url: str, method: str):
    answer = getattr(admin_client, method)(url, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 405
    assert answer["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("url", VIEWS)
def test_get_and_head_are_answered(admin_client, url: str):
    if url.endswith("metrics"):
        pytest.importorskip("prometheus_client")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    got = admin_client.get(url, **auth)
    assert got.status_code == 200
    head = admin_client.head(url, **auth)
    assert head.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize("url", VIEWS)
def test_an_anonymous_post_is_refused_too(client, url: str):
    assert client.post(url).status_code == 405
