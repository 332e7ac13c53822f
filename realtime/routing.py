"""WebSocket routing: outage guard -> origin check -> JWT auth -> ChatConsumer at /api/ws."""

from channels.routing import URLRouter
from django.urls import path

from realtime.handshake.admission import HandshakeGuard
from realtime.handshake.auth import JWTAuthMiddleware
from realtime.handshake.origin import origin_checked
from realtime.socket.consumer import ChatConsumer

websocket_urlpatterns = [path("api/ws", ChatConsumer.as_asgi())]

# Outermost: an outage anywhere in the handshake (credentials, chats, groups) becomes accept + 1013.
websocket_application = HandshakeGuard(origin_checked(JWTAuthMiddleware(URLRouter(websocket_urlpatterns))))
