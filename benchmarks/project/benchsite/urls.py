"""The URLconf ``django-admin startproject`` writes (``BENCH_PROJECT=startproject`` only), with
monitorkit's status page mounted as the README says whenever monitorkit is installed: Django's
URL check imports this URLconf before every command, so a project pays for what it mounts."""

import os

from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls)]
if os.environ.get("BENCH_MONITORKIT") != "0":
    urlpatterns.append(path("monitor/", include("monitorkit.urls")))
