"""URL routes (filled in by this app's issue)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
