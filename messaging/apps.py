from django.apps import AppConfig


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messaging"

    def ready(self) -> None:
        """Register the unsent-attachment job (chatproject.maintenance) and the upload route's body limit,
        which Daphne enforces as the body arrives (chatproject.server.body_limits)."""
        from chatproject import maintenance
        from chatproject.server import body_limits
        from messaging.attachments.uploads import upload_body_limit

        maintenance.register("attachments", cleanup_attachments)
        body_limits.register("attachment-upload", upload_body_limit)


def cleanup_attachments() -> str:
    """Delete uploads no message carries, older than ATTACHMENT_UNSENT_MAX_AGE_HOURS."""
    from datetime import timedelta

    from chatproject.conf import chat_settings
    from messaging.attachments.services import attachments_cleanup_unsent

    hours = chat_settings.ATTACHMENT_UNSENT_MAX_AGE_HOURS
    return f"deleted {attachments_cleanup_unsent(older_than=timedelta(hours=hours))} unsent attachment(s)"
