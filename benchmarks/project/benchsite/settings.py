"""Settings of the benchmark project, chosen per run through environment variables.

BENCH_DB            SQLite file of the embedded store
BENCH_FIREBASE_URL  when set, runs go to this Realtime Database URL instead
BENCH_SETTINGS      JSON of extra settings (interval, flush timeout, ...)
BENCH_PROJECT       "minimal" (the default: contenttypes and auth) or "startproject": the
                    apps, middleware and templates ``django-admin startproject`` writes, the
                    least a user's project has (rows 15 and 16 measure against it)
BENCH_MONITORKIT    "0" leaves monitorkit out of INSTALLED_APPS (row 15's baseline)
"""

import json
import os

SECRET_KEY = "benchmarks-not-secret"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
if os.environ.get("BENCH_PROJECT") == "startproject":  # as Django 4.2-6.0's template has them
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
    ]
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ]
    STATIC_URL = "static/"
    ROOT_URLCONF = "benchsite.urls"
if os.environ.get("BENCH_MONITORKIT") != "0":
    INSTALLED_APPS.append("monitorkit")
INSTALLED_APPS.append("benchapp")
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
