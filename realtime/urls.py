"""Realtime REST routes."""

from django.urls import path

from realtime import views

urlpatterns = [path("ws/ticket", views.ws_ticket, name="ws-ticket")]
