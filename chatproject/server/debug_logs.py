"""autobahn's debug-log arguments, computed only when a debug line is written.

autobahn builds the arguments of its debug log calls eagerly, whether debug logging is on or not:
every handshake pretty-prints the protocol's whole configuration (`pformat`), and every frame sent
through `sendData` or bytes received through `dataReceived` colours three values with click (`hltype`,
`hlval`); what that cost a reconnect storm is in bench/README.md. txaio formats a log event's
arguments with `format()` only when the event is written, so handing it a deferred value costs
nothing when debug is off and prints the same when on.

Patched: the module globals `pformat`, `hltype` and `hlval` of `autobahn.websocket.protocol` and
`hltype`, `hlval` of `autobahn.twisted.websocket` (all their uses there are log arguments), and
`Timings.__str__`, the one place `pformat`'s result is returned rather than logged.
"""

import pprint
from collections.abc import Callable
from typing import Any


class Deferred:
    """A log argument: `fn(*args)` computed when the log line is formatted, not before."""

    __slots__ = ("_args", "_fn")

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._fn = fn
        self._args = args

    def __format__(self, spec: str) -> str:
        return format(self._fn(*self._args), spec)

    def __str__(self) -> str:
        return str(self._fn(*self._args))

    __repr__ = __str__


def _deferring(fn: Callable[..., Any]) -> Callable[..., Deferred]:
    def deferred(*args: Any) -> Deferred:
        return Deferred(fn, *args)

    deferred._chat_deferred = True  # type: ignore[attr-defined]
    return deferred


def defer_debug_log_arguments() -> None:
    """Patch autobahn once (chatproject.server.install); a no-op without autobahn."""
    try:
        from autobahn import util
        from autobahn.twisted import websocket as twisted_websocket
        from autobahn.websocket import protocol
    except ImportError:  # pragma: no cover - another ASGI server
        return
    if getattr(protocol.hltype, "_chat_deferred", False):
        return
    hltype, hlval = _deferring(util.hltype), _deferring(util.hlval)
    protocol.pformat = _deferring(pprint.pformat)  # type: ignore[attr-defined,assignment]
    protocol.hltype, protocol.hlval = hltype, hlval  # type: ignore[attr-defined]
    twisted_websocket.hltype, twisted_websocket.hlval = hltype, hlval  # type: ignore[attr-defined]
    protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)  # type: ignore[method-assign]
