from django.apps import AppConfig


class WebConfig(AppConfig):
    """The browser client at `/` and the client library it is built on (static/chat/client.js)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "web"

    def ready(self) -> None:
        """The admin's "View site" links to the web client, or is hidden when WEB_CLIENT is off."""
        from django.conf import settings
        from django.contrib import admin

        admin.site.site_url = "/" if settings.WEB_CLIENT else None  # type: ignore[assignment]
