"""WebSocket routing: origin check -> JWT auth -> ChatConsumer at /api/ws."""

from channels.routing import URLRouter
from django.urls import path

from realtime.auth import JWTAuthMiddleware
from realtime.consumers import ChatConsumer
from realtime.security import origin_checked

websocket_urlpatterns = [path("api/ws", ChatConsumer.as_asgi())]

websocket_application = origin_checked(JWTAuthMiddleware(URLRouter(websocket_urlpatterns)))
