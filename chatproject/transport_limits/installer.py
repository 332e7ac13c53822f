"""The one entry point: patch Daphne, Twisted and autobahn once per process."""

import logging

from chatproject.transport_limits.http import _install_http
from chatproject.transport_limits.websocket import _install_websocket

logger = logging.getLogger(__name__)


def install() -> None:
    """Patch Daphne, Twisted and autobahn once; a no-op without Daphne (another ASGI server)."""
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketFactory
        from twisted.web.http import HTTPChannel
    except ImportError:  # pragma: no cover - another ASGI server
        return
    if getattr(Server, "_transport_limits_installed", False):
        return
    Server._transport_limits_installed = True  # type: ignore[attr-defined]
    _install_http(WebRequest, HTTPChannel)
    _install_websocket(Server, WebSocketFactory)
