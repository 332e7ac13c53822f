"""Graceful restarts: on SIGTERM a Daphne process drains before it exits.

Daphne runs `reactor.run(installSignalHandlers=True)`, so SIGTERM stops Twisted's reactor, which first
runs its "before shutdown" triggers and waits for the Deferreds they return. Daphne's own trigger,
`Server.kill_all_applications`, cancels every application at once: in-flight requests would be cut
and every socket would end without a close frame (1006 at the client). `chatproject.server.installer`
patches that trigger to first:

1. stop listening, so new connections go to the other processes on the shared socket (or another
   replica behind the load balancer);
2. run the hooks apps registered with `before_closing_sockets` (realtime hands its sockets over in the
   registry, so their clients find their per-user slots free on another process), at most
   HOOK_SECONDS;
3. close every open WebSocket with 1012 (service restart): its client reconnects elsewhere and
   sends `resume`, which replays what it missed, once;
4. wait until every in-flight HTTP request has answered and every socket's close handshake is done,
   or until SHUTDOWN_GRACE_SECONDS less a margin has passed;

and only then cancel what is left, as Daphne did. `chatproject.serve` kills a process that has not
exited after SHUTDOWN_GRACE_SECONDS, so the margin leaves time to exit.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chatproject.conf import chat_settings

logger = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 1012
# Of the grace, kept for cancelling what is left and for the process to exit.
EXIT_MARGIN_SECONDS = 1.0
_POLL_SECONDS = 0.05
# The hooks run while clients still wait for their close: they must be quick, and are cut off past this.
HOOK_SECONDS = 2.0

_hooks: list[Callable[[], Awaitable[Any]]] = []


def before_closing_sockets(hook: Callable[[], Awaitable[Any]]) -> None:
    """Run `hook` (a coroutine function) on SIGTERM, after listening stops and before sockets close."""
    if hook not in _hooks:
        _hooks.append(hook)


async def _run_hooks() -> None:
    for hook in list(_hooks):
        try:
            await asyncio.wait_for(hook(), HOOK_SECONDS)
        except Exception:
            logger.exception("shutdown hook %s failed", getattr(hook, "__qualname__", hook))


def patch_shutdown(server: Any) -> None:
    """Daphne's Server drains on SIGTERM before it cancels what is left (see the module)."""
    original_listen_success = server.listen_success
    original_kill_all = server.kill_all_applications

    def listen_success(self: Any, port: Any) -> None:
        """Daphne's, keeping the listening port so shutdown can stop listening first."""
        ports = self.__dict__.setdefault("_graceful_ports", [])
        ports.append(port)
        original_listen_success(self, port)

    def kill_all_applications(self: Any) -> Any:
        """Drain (see the module's docstring), then Daphne's: cancel what is left."""
        from twisted.internet import defer

        drained = drain(self)
        result: defer.Deferred[Any] = defer.Deferred()

        def then_kill(_: Any) -> None:
            defer.maybeDeferred(original_kill_all, self).addBoth(result.callback)

        drained.addBoth(then_kill)
        return result

    server.listen_success = listen_success
    server.kill_all_applications = kill_all_applications


def open_connections(server: Any) -> list[Any]:
    """Daphne's protocols (HTTP requests and WebSockets) not yet disconnected."""
    return [
        protocol for protocol, details in list(server.connections.items()) if "disconnected" not in details
    ]


def close_websockets(server: Any) -> int:
    """Send 1012 to every open WebSocket of this process; how many."""
    from daphne.ws_protocol import WebSocketProtocol

    closed = 0
    for protocol in open_connections(server):
        if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN:
            # sendCloseFrame, not sendClose: autobahn lets applications close only with 1000 or 3000-4999.
            protocol.sendCloseFrame(code=CLOSE_SERVICE_RESTART, isReply=False)
            closed += 1
        elif isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_CONNECTING:
            # A handshake still being decided: the client retries like after a drop.
            protocol.dropConnection(abort=True)
    return closed


def drain(server: Any) -> Any:
    """Stop listening, close the sockets with 1012, and fire once nothing is in flight or time is up."""
    from twisted.internet import defer, reactor, task

    grace = max(0.0, chat_settings.SHUTDOWN_GRACE_SECONDS - EXIT_MARGIN_SECONDS)
    deadline = time.monotonic() + grace
    for port in getattr(server, "_graceful_ports", []):
        if hasattr(port, "stopListening"):
            port.stopListening()
    done: defer.Deferred[None] = defer.Deferred()

    def close_then_wait(_: Any) -> None:
        closed = close_websockets(server)
        logger.info("shutting down: closed %d sockets with 1012; waiting up to %.1f s", closed, grace)
        loop.start(_POLL_SECONDS, now=True)

    hooks = defer.Deferred.fromFuture(asyncio.ensure_future(_run_hooks()))
    hooks.addBoth(close_then_wait)

    def check() -> None:
        left = open_connections(server)
        if not left or time.monotonic() >= deadline:
            if left:
                logger.warning("shutdown grace over with %d connections open", len(left))
            loop.stop()
            done.callback(None)

    loop = task.LoopingCall(check)
    loop.clock = reactor
    return done
