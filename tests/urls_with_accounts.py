"""A project with its own login and logout at Django's default place, ``accounts/``, and the
admin (tests/test_door.py)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("monitor/", include("monitorkit.urls")),
]
