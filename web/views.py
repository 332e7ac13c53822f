"""The web client's one page: a template that loads static ES modules (no build step, no CDN)."""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from chatproject.conf import chat_settings


def index(request: HttpRequest) -> HttpResponse:
    """The web client, unless WEB_CLIENT is off (then the JSON 404 of any unknown URL)."""
    if not chat_settings.WEB_CLIENT:
        raise Http404()
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"error": "method not allowed", "code": "method_not_allowed"}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    return render(request, "web/index.html")
