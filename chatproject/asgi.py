"""ASGI entry point: HTTP to Django, WebSocket to the realtime app (served by Daphne)."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application,
    }
)
