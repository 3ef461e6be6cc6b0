"""The URLconf ``django-admin startproject`` writes (``BENCH_PROJECT=startproject`` only)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
