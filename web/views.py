"""The web client's one page: a template that loads static ES modules (no build step, no CDN)."""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from chatproject.conf import chat_settings


def content_security_policy(request: HttpRequest) -> str:
    """The page's CSP: only this origin's scripts, styles and connections, never framed.

    `connect-src` names the WebSocket of this host outright: CSP 'self' covers ws:/wss: only in newer
    browsers. `img-src` allows blob: (attachment previews are fetched with the token, then shown from a
    blob) and data: (the empty favicon). The host has passed ALLOWED_HOSTS, so it cannot inject a directive.
    """
    host = request.get_host()
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            f"connect-src 'self' ws://{host} wss://{host}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def index(request: HttpRequest) -> HttpResponse:
    """The web client, unless WEB_CLIENT is off (then the JSON 404 of any unknown URL)."""
    if not chat_settings.WEB_CLIENT:
        raise Http404()
    if request.method not in ("GET", "HEAD"):
        refusal = JsonResponse({"error": "method not allowed", "code": "method_not_allowed"}, status=405)
        refusal["Allow"] = "GET, HEAD"
        return refusal
    response = render(request, "web/index.html")
    # This page only: the docs pages (Swagger UI, ReDoc) run inline scripts; the admin keeps Django's headers.
    response["Content-Security-Policy"] = content_security_policy(request)
    # SecurityMiddleware sends these too; set here so the page keeps them whatever the middleware says.
    response["Referrer-Policy"] = "same-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response
