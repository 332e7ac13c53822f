"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from chatproject import docs, metrics_view, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", docs.SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", docs.RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/asyncapi.yaml", docs.asyncapi, name="asyncapi"),
    path("api/", include("accounts.urls")),
    path("api/", include("chats.urls")),
    path("api/", include("messaging.urls")),
    path("api/", include("realtime.urls")),
    path("", include("web.urls")),
]

handler400 = "chatproject.views.bad_request"
handler403 = "chatproject.views.permission_denied"
handler404 = "chatproject.views.not_found"
handler500 = "chatproject.views.server_error"
