"""WebSocket routing (placeholder until the realtime issue: refuses every socket)."""

from channels.generic.websocket import WebsocketConsumer
from channels.routing import URLRouter
from django.urls import path


class NotReadyConsumer(WebsocketConsumer):
    """Refuses the handshake: the realtime protocol is not built yet."""

    def connect(self) -> None:
        """Reject."""
        self.close(code=4404)


websocket_application = URLRouter([path("api/ws", NotReadyConsumer.as_asgi())])
