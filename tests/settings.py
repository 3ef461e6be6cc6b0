"""Settings for the test suite: a real SQLite file database, the embedded store on."""

import os
import tempfile

SECRET_KEY = "monitorkit-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "monitorkit",
    "tests.testapp",
]
_DB_DIR = os.environ.get("MONITORKIT_TEST_DB_DIR") or tempfile.mkdtemp(prefix="monitorkit-tests-")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(_DB_DIR, "db.sqlite3"),
        # A file, not memory: the sender's thread must see what the test sees.
        "TEST": {"NAME": os.path.join(_DB_DIR, "test-db.sqlite3")},
    }
}
ROOT_URLCONF = "tests.urls"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Users made by the tests (pytest-django's admin_user, the browser's staff) would each cost
# Django's default password hasher about a second of CPU (PBKDF2, over a million iterations
# since Django 5.2): no test is about passwords, so a cheap hasher, as Django's testing docs
# advise.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The status page (monitorkit.urls, mounted at /monitor/ in tests/urls.py).
STATIC_URL = "/static/"
LOGIN_URL = "/admin/login/"
# The spool beside the database: each test project has its own, and nothing is left in /tmp.
MONITORKIT_SPOOL_DIR = os.path.join(_DB_DIR, "spool")
FIREBASE_MONITORING_INTERVAL_PING = 30
# Generous, so a busy machine still delivers before a command ends (the default is 3 s); the
# tests about the bound itself set their own.
MONITORKIT_FLUSH_TIMEOUT = 10

# Subprocess tests pass extra settings as JSON in this variable (see tests/process.py).
if os.environ.get("MONITORKIT_TEST_SETTINGS"):
    import json as _json

    globals().update(_json.loads(os.environ["MONITORKIT_TEST_SETTINGS"]))
