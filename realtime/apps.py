from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "realtime"

    def ready(self) -> None:
        """Register the protocol's frame types with the metrics, the expired-ticket job
        (chatproject.maintenance), and the hand-over of this process's sockets in the registry on SIGTERM,
        before they are closed with 1012 (chatproject.server.graceful)."""
        from chatproject import maintenance, metrics
        from chatproject.server.graceful import before_closing_sockets
        from realtime import registry
        from realtime.protocol.event_types import ClientCommand, Reply, ServerEvent

        metrics.register_frame_types(received=ClientCommand, sent=[*ServerEvent, *Reply])
        maintenance.register("tickets", delete_expired_tickets)
        before_closing_sockets(registry.hand_over)


def delete_expired_tickets() -> str:
    """WebSocket tickets past their expiry, used or not."""
    from realtime.tickets import ws_tickets_delete_expired

    return f"deleted {ws_tickets_delete_expired()} expired ticket(s)"
