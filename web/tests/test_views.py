"""The web client's page at `/`, WEB_CLIENT, and the static files it loads."""

import re
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


# --- headers: CSP and friends (issue 20) -------------------------------------------------------


def csp(response: Any) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources}."""
    directives = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {name: rest[0] if rest else "" for name, *rest in directives}


def test_root_sends_a_strict_content_security_policy():
    policy = csp(Client().get("/"))

    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert "unsafe" not in str(policy)


def test_csp_connect_src_is_this_origin_and_its_websocket():
    response = Client().get("/", HTTP_HOST="localhost:8000")

    assert csp(response)["connect-src"] == "'self' ws://localhost:8000 wss://localhost:8000"


def test_root_sends_referrer_policy_and_nosniff():
    response = Client().get("/")

    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_page_has_no_inline_script_or_style():
    page = Client().get("/").content.decode()

    # Every script is a file ('self'); no <style>, no style="" or on*="" attribute the policy would block.
    assert page.count("<script") == page.count('<script type="module" src="/static/')
    assert "<style" not in page
    assert " style=" not in page
    assert not re.search(r"\son[a-z]+\s*=", page)


def test_api_answers_keep_no_page_policy(api_client):
    response = api_client.get("/api/me")

    assert response.status_code == 401
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


def test_admin_keeps_working_without_the_page_policy():
    response = Client().get("/admin/login/")

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
