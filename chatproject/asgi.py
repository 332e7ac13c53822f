"""ASGI entry point: HTTP to Django, WebSocket to the realtime app (served by Daphne)."""

import os

import django
from channels.routing import ProtocolTypeRouter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models (as django.core.asgi.get_asgi_application does).
django.setup(set_prefix=False)

from chatproject.asgi_http import SyncChainASGIHandler  # noqa: E402
from chatproject.server.installer import install as install_server_patches  # noqa: E402

# Daphne, Twisted and autobahn patched once (chatproject.server), before Daphne builds its factories.
install_server_patches()

django_asgi_app = SyncChainASGIHandler()

from realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application,
    }
)
