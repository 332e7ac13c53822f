"""WebSocket routing: outage guard -> origin check -> JWT auth -> ChatConsumer at /api/ws."""

from channels.routing import URLRouter
from django.urls import path

from realtime.auth import JWTAuthMiddleware
from realtime.consumers import ChatConsumer
from realtime.handshake import OutageHandshake
from realtime.security import origin_checked

websocket_urlpatterns = [path("api/ws", ChatConsumer.as_asgi())]

# Outermost: an outage anywhere in the handshake (credentials, chats, groups) becomes accept + 1013.
websocket_application = OutageHandshake(origin_checked(JWTAuthMiddleware(URLRouter(websocket_urlpatterns))))
