from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        """Connect the user cache's signals; register the expired-token job (chatproject.maintenance)."""
        from accounts import usercache
        from chatproject import maintenance

        usercache.connect_signals()
        maintenance.register("tokens", flush_expired_tokens)


def flush_expired_tokens() -> str:
    """simplejwt's flushexpiredtokens: outstanding tokens past expiry, and their blacklist rows."""
    import io

    from django.core.management import call_command
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    before = OutstandingToken.objects.count()
    call_command("flushexpiredtokens", stdout=io.StringIO())
    return f"deleted {before - OutstandingToken.objects.count()} expired token(s)"
