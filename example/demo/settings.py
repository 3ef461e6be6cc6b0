"""A small shop whose nightly commands are monitored by monitorkit.

No Firebase here: runs go to the embedded default, this project's own database.
Set MONITORKIT_DEMO_FIREBASE_URL to send them to a Realtime Database instead.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "demo-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
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
    "shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "demo.urls"
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
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DB", str(BASE_DIR / "demo.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"
LOGIN_URL = "/admin/login/"

# monitorkit: a heartbeat every 2 seconds so the demo shows RUNNING runs and progress.
FIREBASE_MONITORING_INTERVAL_PING = 2

# Alerts from `manage.py monitor_watch`: e-mail to the admins. The demo's "mail server" is a
# folder (Django's file backend), which the demo prints; a real project sets EMAIL_HOST.
ADMINS = [("Shop ops", "ops@shop.example")]
DEFAULT_FROM_EMAIL = "monitor@shop.example"
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("DEMO_MAIL_DIR", str(BASE_DIR / "sent-mail"))
MONITORKIT_ALERTS = {"email": True}
MONITORKIT_BASE_URL = "http://127.0.0.1:8000/monitor"
# The demo's spool beside its database, so the demo leaves nothing in /tmp.
MONITORKIT_SPOOL_DIR = str(BASE_DIR / "spool")

if os.environ.get("MONITORKIT_DEMO_FIREBASE_URL"):
    FIREBASE_MONITORING = {"DATABASE_URL": os.environ["MONITORKIT_DEMO_FIREBASE_URL"]}
    FIREBASE_MONITORING_KEY = "monitor-shop-demo"
