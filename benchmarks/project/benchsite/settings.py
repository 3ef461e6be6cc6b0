"""Settings of the benchmark project, chosen per run through environment variables.

BENCH_DB            SQLite file of the embedded store
BENCH_FIREBASE_URL  when set, runs go to this Realtime Database URL instead
BENCH_SETTINGS      JSON of extra settings (interval, flush timeout, ...)
"""

import json
import os

SECRET_KEY = "benchmarks-not-secret"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "monitorkit", "benchapp"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", "/tmp/monitorkit-bench.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if os.environ.get("BENCH_FIREBASE_URL"):
    FIREBASE_MONITORING = {"DATABASE_URL": os.environ["BENCH_FIREBASE_URL"]}
    FIREBASE_MONITORING_KEY = "monitor-bench"
globals().update(json.loads(os.environ.get("BENCH_SETTINGS") or "{}"))
