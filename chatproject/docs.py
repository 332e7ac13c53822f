"""API documentation: the OpenAPI schema readable in a browser, and the AsyncAPI document of the socket."""

from html import escape
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from chatproject.errors import MethodNotAllowedError, error_json_response

ASYNCAPI_PATH = settings.BASE_DIR / "realtime" / "asyncapi.yaml"


class OpenApiHtmlRenderer(OpenApiYamlRenderer):
    """The schema as YAML inside an HTML page, for a browser (it would download the YAML media type)."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        """A page with the YAML text, escaped, in <pre>."""
        text = super().render(data, accepted_media_type, renderer_context).decode()
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>OpenAPI schema</title></head><body>"
            '<p>OpenAPI schema. As a file: <a href="?format=yaml">YAML</a>, <a href="?format=json">JSON</a>. '
            'Rendered: <a href="/api/docs/">Swagger UI</a>, <a href="/api/redoc/">ReDoc</a>.</p>'
            f"<pre>{escape(text)}</pre></body></html>"
        )
        return page.encode()


class SchemaView(SpectacularAPIView):
    """/api/schema/: YAML by default, JSON on `?format=json` or Accept, HTML for a browser (text/html)."""

    # Appended: a client that accepts anything (*/*) gets the YAML, the first renderer's.
    renderer_classes = [*SpectacularAPIView.renderer_classes, OpenApiHtmlRenderer]


class RedocView(SpectacularRedocView):
    """/api/redoc/: ReDoc from drf-spectacular-sidecar, on a page that loads no web fonts from Google."""

    template_name = "api_docs/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """The page, with a policy that keeps images on this host.

        ReDoc's bundle puts an <img> of https://cdn.redoc.ly/redoc/logo-mini.svg in its sidebar, which no
        option turns off; the browser refuses it under this policy and ReDoc then shows no logo.
        """
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = "img-src 'self' data:"
        return response


def asyncapi(request: HttpRequest) -> HttpResponse:
    """/api/asyncapi.yaml: the WebSocket protocol's AsyncAPI document, as it is in the repository."""
    if request.method not in ("GET", "HEAD"):
        return error_json_response(MethodNotAllowedError(allow="GET, HEAD"))
    return HttpResponse(ASYNCAPI_PATH.read_bytes(), content_type="application/yaml; charset=utf-8")
