from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "realtime"

    def ready(self) -> None:
        """Allow 1009/1013 closes under Daphne (see realtime.autobahn_patch); register the protocol's frame
        types with the metrics and the expired-ticket job (chatproject.maintenance)."""
        from chatproject import maintenance, metrics
        from realtime.autobahn_patch import allow_registered_close_codes
        from realtime.protocol import ClientCommand, Reply, ServerEvent

        allow_registered_close_codes()
        metrics.register_frame_types(received=ClientCommand, sent=[*ServerEvent, *Reply])
        maintenance.register("tickets", delete_expired_tickets)


def delete_expired_tickets() -> str:
    """WebSocket tickets past their expiry, used or not."""
    from realtime.services import ws_tickets_delete_expired

    return f"deleted {ws_tickets_delete_expired()} expired ticket(s)"
