"""Runs are visible, read-only, in the Django admin."""

from __future__ import annotations

import pytest

from monitorkit.models import CommandRun
from monitorkit.stores.database.runs import DatabaseReporter
from tests.stores.test_database import make_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_runs_are_listed_and_read_only(admin_client):
    record = make_record("nightly_import__day_2024-01-01")
    DatabaseReporter().write(record)
    listing = admin_client.get("/admin/monitorkit/commandrun/")
    assert listing.status_code == 200
    assert b"nightly_import__day_2024-01-01" in listing.content
    assert admin_client.get("/admin/monitorkit/commandrun/add/").status_code == 403
    (pk,) = CommandRun.objects.values_list("pk", flat=True)
    detail = admin_client.get(f"/admin/monitorkit/commandrun/{pk}/change/")
    assert detail.status_code == 200
    assert record.run_id.encode() in detail.content
