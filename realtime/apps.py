from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "realtime"

    def ready(self) -> None:
        """Allow 1009/1013 closes under Daphne (see realtime.autobahn_patch); on SIGTERM, hand this
        process's sockets over in the registry before they are closed with 1012."""
        from chatproject.graceful import before_closing_sockets
        from realtime import registry
        from realtime.autobahn_patch import allow_registered_close_codes

        allow_registered_close_codes()
        before_closing_sockets(registry.hand_over)
