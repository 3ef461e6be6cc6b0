"""The stores moved from ``monitorkit.reporters`` to ``monitorkit.stores``; nothing a user wrote
against the old paths breaks: imports (with a ``DeprecationWarning``), ``MONITORKIT_STORE``
values, and records spooled by an older version, which name the old class paths."""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from monitorkit.conf import DATABASE_STORE, FIREBASE_STORE, MonitorSettings
from monitorkit.record import RunRecord, Status, utcnow
from monitorkit.recording.spool import Spool, deliverable
from monitorkit.stores import base, store_reporter
from monitorkit.stores.base import reporter_path
from monitorkit.stores.database import DatabaseReporter
from monitorkit.stores.firebase import FirebaseReporter

from .conftest import make_record

OLD_MODULES = {
    "monitorkit.reporters.base": "monitorkit.stores.base",
    "monitorkit.reporters.health_store": "monitorkit.stores.health_store",
    "monitorkit.reporters.database": "monitorkit.stores.database.runs",
    "monitorkit.reporters.database_health": "monitorkit.stores.database.health",
    "monitorkit.reporters.database_sql": "monitorkit.stores.database.sql",
    "monitorkit.reporters.firebase": "monitorkit.stores.firebase.runs",
    "monitorkit.reporters.firebase_health": "monitorkit.stores.firebase.health",
    "monitorkit.reporters.firebase_http": "monitorkit.stores.firebase.http",
    "monitorkit.reporters.firebase_auth": "monitorkit.stores.firebase.auth",
}


@pytest.fixture
def fresh_old_paths() -> None:
    """Forget the old modules, so each test imports them (and is warned) anew."""
    for name in [n for n in sys.modules if n.startswith("monitorkit.reporters")]:
        del sys.modules[name]


@pytest.mark.usefixtures("fresh_old_paths")
@pytest.mark.parametrize(("old", "new"), sorted(OLD_MODULES.items()))
def test_an_old_module_path_is_the_new_module_with_a_warning(old: str, new: str) -> None:
    with pytest.warns(
        DeprecationWarning, match=r"monitorkit\.reporters.* is now monitorkit\.stores"
    ):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


@pytest.mark.usefixtures("fresh_old_paths")
def test_the_documented_custom_reporter_base_keeps_its_old_path() -> None:
    with pytest.warns(DeprecationWarning, match="monitorkit.stores"):
        from monitorkit.reporters.base import Reporter, ReporterError

    assert Reporter is base.Reporter
    assert ReporterError is base.ReporterError

    class Mine(Reporter):
        def write(self, record: RunRecord) -> None:
            pass

    assert isinstance(Mine(), base.Reporter)


@pytest.mark.usefixtures("fresh_old_paths")
@pytest.mark.parametrize(
    ("named", "meant"),
    [
        ("monitorkit.reporters.database.DatabaseReporter", DATABASE_STORE),
        ("monitorkit.stores.database.DatabaseReporter", DATABASE_STORE),
        ("monitorkit.stores.database.runs.DatabaseReporter", DATABASE_STORE),
        ("monitorkit.reporters.firebase.FirebaseReporter", FIREBASE_STORE),
        ("monitorkit.stores.firebase.FirebaseReporter", FIREBASE_STORE),
    ],
)
def test_every_path_of_a_built_in_store_means_that_store(
    settings: Any, named: str, meant: str
) -> None:
    settings.MONITORKIT_STORE = named
    settings.FIREBASE_MONITORING = {"DATABASE_URL": "http://127.0.0.1:9/?ns=moved"}
    settings.FIREBASE_MONITORING_KEY = "moved"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chosen = MonitorSettings()
        assert chosen.store == meant
    moved = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert bool(moved) is ("reporters" in named)  # only an old path is warned about
    assert chosen.database is (meant == DATABASE_STORE)
    store = store_reporter(chosen)
    assert reporter_path(store) == meant  # type: ignore[arg-type]
    assert type(store) is (DatabaseReporter if meant == DATABASE_STORE else FirebaseReporter)


def test_a_record_spooled_under_an_old_class_path_is_delivered(tmp_path: Path) -> None:
    """An older version spooled a run for ``monitorkit.reporters.database.DatabaseReporter``:
    the database store of this version delivers it."""

    spool = Spool(tmp_path / "spool", max_files=10)
    now = utcnow()
    record = make_record("r" * 32, "nightly", status=Status.FINISHED, started=now, finished=now)
    store = DatabaseReporter(MonitorSettings())
    assert spool.put(store, record, quiet=True)
    (path,) = spool.files()
    data = json.loads(path.read_text())
    assert data["reporter"] == DATABASE_STORE
    data["reporter"] = "monitorkit.reporters.database.DatabaseReporter"
    path.write_text(json.dumps(data))
    found = deliverable(spool, {DATABASE_STORE: store}, 10)
    assert [(reporter, item.record.run_id) for reporter, item in found] == [(store, record.run_id)]
