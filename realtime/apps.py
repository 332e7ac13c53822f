from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "realtime"

    def ready(self) -> None:
        """Allow 1009/1013 closes under Daphne (see realtime.autobahn_patch); register the protocol's frame
        types with the metrics, the expired-ticket job (chatproject.maintenance), and the hand-over of
        this process's sockets in the registry on SIGTERM, before they are closed with 1012."""
        from chatproject import maintenance, metrics
        from chatproject.graceful import before_closing_sockets
        from realtime import registry
        from realtime.autobahn_patch import allow_registered_close_codes
        from realtime.protocol import ClientCommand, Reply, ServerEvent

        allow_registered_close_codes()
        metrics.register_frame_types(received=ClientCommand, sent=[*ServerEvent, *Reply])
        maintenance.register("tickets", delete_expired_tickets)
        before_closing_sockets(registry.hand_over)


def delete_expired_tickets() -> str:
    """WebSocket tickets past their expiry, used or not."""
    from realtime.services import ws_tickets_delete_expired

    return f"deleted {ws_tickets_delete_expired()} expired ticket(s)"
