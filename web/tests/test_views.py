"""The web client's page at `/`, WEB_CLIENT, and the static files it loads."""

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.test import Client

from web.apps import WebConfig

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    """Tests run with DEBUG off, whose manifest storage needs collectstatic; the page uses {% static %}."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_root_serves_the_web_client():
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert '<script type="module" src="/static/web/app.js">' in page
    assert 'href="/static/web/app.css"' in page
    # No third-party script or stylesheet: everything is served by the app itself.
    assert "https://" not in page
    assert "http://" not in page


def test_the_modules_it_loads_are_static_files():
    for name in ["web/app.js", "web/app.css", "chat/client.js"]:
        assert finders.find(name), name


def test_web_client_off_is_the_json_404(settings, chat_overrides):
    chat_overrides.WEB_CLIENT = False
    response = Client().get("/")
    assert response.status_code == 404
    assert response.json() == {"error": "not found", "code": "not_found"}


def test_other_methods_are_405():
    response = Client().post("/")
    assert response.status_code == 405
    assert response.json() == {"error": "method not allowed", "code": "method_not_allowed"}


def test_admin_view_site_follows_web_client(settings, chat_overrides):
    app = WebConfig("web", __import__("web"))
    try:
        chat_overrides.WEB_CLIENT = False
        app.ready()
        assert admin.site.site_url is None
        chat_overrides.WEB_CLIENT = True
        app.ready()
        assert admin.site.site_url == "/"
    finally:
        admin.site.site_url = "/"
