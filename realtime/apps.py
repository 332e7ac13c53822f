from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "realtime"

    def ready(self) -> None:
        """Allow 1009/1013 closes under Daphne (see realtime.autobahn_patch)."""
        from realtime.autobahn_patch import allow_registered_close_codes

        allow_registered_close_codes()
