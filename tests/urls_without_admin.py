"""A project that mounts the status page but not the admin (tests/test_door.py)."""

from django.urls import include, path

urlpatterns = [path("monitor/", include("monitorkit.urls"))]
