"""The one entry point: patch Daphne, Twisted and autobahn once per process, from `chatproject.asgi`."""

from chatproject.server.check import verify
from chatproject.server.close_codes import allow_registered_close_codes
from chatproject.server.debug_logs import defer_debug_log_arguments
from chatproject.server.graceful import patch_shutdown
from chatproject.server.http import patch_http
from chatproject.server.websocket import patch_websocket
from chatproject.server.wire import offer_wire

_installed = False


def install() -> None:
    """Install every patch of the package once; a no-op without Daphne (another ASGI server).

    Called before Daphne builds its factories, so the frame limits reach its protocol options. Raises
    UntestedServerError, naming the library and the name, when an internal the patches need is missing
    or a library is outside its tested series (chatproject.server.check): the server does not start.
    """
    global _installed  # one flag for the process, not one per patch
    try:
        from autobahn.websocket.protocol import WebSocketProtocol
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketFactory
        from daphne.ws_protocol import WebSocketProtocol as DaphneWebSocketProtocol
        from twisted.web.http import HTTPChannel
    except ImportError:  # pragma: no cover - another ASGI server
        return
    if _installed:
        return
    verify()
    _installed = True
    # Body, frame and output limits Daphne does not enforce itself; Daphne's and Twisted's answers in JSON.
    patch_http(WebRequest, HTTPChannel)
    patch_websocket(Server, WebSocketFactory)
    # Closes with 1008, 1009, 1011, 1012 and 1013, which autobahn refuses an application by default.
    allow_registered_close_codes(WebSocketProtocol)
    # Sockets' raw output for frames prepared once per group message (the local fan-out).
    offer_wire(Server, DaphneWebSocketProtocol)
    # autobahn's debug-log arguments computed only when a debug line is written (a sixth of a handshake).
    defer_debug_log_arguments()
    # SIGTERM: stop listening, run the apps' hooks, close sockets with 1012, let requests finish.
    patch_shutdown(Server)
