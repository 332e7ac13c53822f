"""Self-hosted API docs: Swagger UI and ReDoc from drf-spectacular-sidecar, the schema, the AsyncAPI document."""

import os
import re
import subprocess
import sys
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
# Every src= and href= in a page, quoted either way.
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']""")


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    """Tests run with DEBUG off, whose manifest storage needs collectstatic; the pages use {% static %}."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def assets_of(page: str) -> list[str]:
    """URLs a page loads (src/href attributes), with any URL in its inline script that names a file."""
    return ASSET.findall(page) + re.findall(r"""["'](\S*?\.(?:js|css|png))["']""", page)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_another_host(path: str):
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assets = assets_of(page)
    assert any(url.endswith(".js") for url in assets), assets
    for url in assets:
        parsed = urlparse(url)
        assert not parsed.scheme, f"{path} loads {url} from another host"
        assert not parsed.netloc, f"{path} loads {url} from another host"
    assert "http://" not in page
    assert "https://" not in page
    # Every file it loads is one of ours: collectstatic gathers it and WhiteNoise serves it.
    static_files = [url for url in assets if url.startswith("/static/")]
    assert static_files
    for url in static_files:
        name = url.removeprefix("/static/")
        assert finders.find(name), url


def test_swagger_ui_uses_the_sidecar_and_its_favicon():
    page = Client().get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png" in page


def test_redoc_uses_the_sidecar():
    response = Client().get("/api/redoc/")
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in response.content.decode()
    # Its bundle would fetch Redocly's logo from their CDN; the policy keeps images on this host.
    assert response["Content-Security-Policy"] == "img-src 'self' data:"


def test_schema_json_still_served():
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/me" in schema["paths"]


def test_schema_without_accept_is_yaml_as_before():
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_schema_is_readable_in_a_browser():
    response = Client().get("/api/schema/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<pre>" in page
    assert "openapi: 3." in page
    assert "/api/me:" in page
    assert "<script" not in page


def test_asyncapi_document_is_served_and_linked():
    response = Client().get("/api/asyncapi.yaml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    document = yaml.safe_load(response.content)
    assert "asyncapi" in document
    assert document == yaml.safe_load((django_settings.BASE_DIR / "realtime" / "asyncapi.yaml").read_text())
    # The docs page describes the API with the schema's description, which links the document.
    schema = Client().get("/api/schema/?format=json").json()
    assert "/api/asyncapi.yaml" in schema["info"]["description"]


def test_asyncapi_refuses_other_methods_as_json():
    response = Client().post("/api/asyncapi.yaml")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


def test_docs_assets_are_collected_for_whitenoise(settings: Any, tmp_path: Any):
    """With DEBUG off the pages name hashed files from collectstatic's manifest; each must be there."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=django_settings.BASE_DIR,
        env={
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": django_settings.SECRET_KEY,
            "STATIC_ROOT": str(tmp_path),
        },
        check=True,
    )
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    for path in ["/api/docs/", "/api/redoc/"]:
        page = Client().get(path).content.decode()
        static_files = [url for url in assets_of(page) if url.startswith("/static/")]
        assert static_files
        # The manifest's names (content hashes), so the storage under test is the production one.
        assert any(re.search(r"\.[0-9a-f]{12}\.js$", url) for url in static_files), static_files
        for url in static_files:
            assert (tmp_path / url.removeprefix("/static/")).is_file(), url
