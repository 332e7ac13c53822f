"""The project's URLs plus views that fail on purpose (tests only: @pytest.mark.urls)."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from chatproject.urls import handler400, handler403, handler404, handler500
from chatproject.urls import urlpatterns as project_urls

SECRET_DETAIL = "secret-detail-that-must-not-leak"


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def api_boom(request: Request) -> Response:
    raise RuntimeError(SECRET_DETAIL)


def django_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_DETAIL)


@require_POST
def django_post_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def api_database_down(request: Request) -> Response:
    raise OperationalError("connection refused")


urlpatterns = [
    path("test/api-boom", api_boom),
    path("test/django-boom", django_boom),
    path("test/api-database-down", api_database_down),
    path("test/post-only", django_post_only),
    *project_urls,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
