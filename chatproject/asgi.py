"""ASGI entry point: HTTP to Django, WebSocket to the realtime app (served by Daphne)."""

import os

import django
from channels.routing import ProtocolTypeRouter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models (as django.core.asgi.get_asgi_application does).
django.setup(set_prefix=False)

from chatproject.asgi_http import SyncChainASGIHandler  # noqa: E402
from chatproject.autobahn_logs import install as install_lazy_autobahn_logs  # noqa: E402
from chatproject.graceful import install as install_graceful_shutdown  # noqa: E402
from chatproject.transport_limits import install as install_transport_limits  # noqa: E402
from realtime.wire import install as install_socket_wire  # noqa: E402

# Body, frame and output limits Daphne does not enforce itself; before Daphne builds its factories.
install_transport_limits()
# Sockets' raw output for frames prepared once per group message (the local fan-out, realtime.fanout).
install_socket_wire()
# autobahn's debug-log arguments computed only when debug is on (a sixth of a handshake's CPU).
install_lazy_autobahn_logs()
# SIGTERM: stop listening, close sockets with 1012, let requests finish (SHUTDOWN_GRACE_SECONDS).
install_graceful_shutdown()

django_asgi_app = SyncChainASGIHandler()

from realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application,
    }
)
