from django.apps import AppConfig

from chatproject.conf import chat_settings


class WebConfig(AppConfig):
    """The browser client at `/` and the client library it is built on (static/chat/client.js)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "web"

    def ready(self) -> None:
        """The admin's "View site" links to the web client, or is hidden when WEB_CLIENT is off."""
        from django.contrib import admin

        admin.site.site_url = "/" if chat_settings.WEB_CLIENT else None  # type: ignore[assignment]
