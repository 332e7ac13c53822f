"""Limits on what one connection may make Daphne hold, enforced where Daphne and Twisted hold it.

Installed by `chatproject.asgi` (so it holds under plain `daphne chatproject.asgi:application`, as
`make run` starts it); each seam is a documented Twisted/autobahn option or one Daphne method, patched
once per process:

- Request bodies: Twisted reads a body whole (into memory or a temporary file) and Daphne then queues
  all of it for the app before Django can answer 413. Here a body is refused with the API's 413 JSON
  as soon as its Content-Length is over the limit, or, chunked, as soon as what arrived passes it.
- Twisted parses multipart/form-data bodies itself (whole, in memory) only to fill `request.args`,
  which Daphne never reads, and answers a bare 400 when that parse fails; Django parses them instead.
- Twisted's own 400 (bad request line, NUL in a header, ...) and Daphne's error pages answer JSON.
- WebSocket frames over WS_MAX_FRAME_BYTES are refused by autobahn before they are buffered, with a
  1009 close frame (autobahn's default `failByDrop` drops the TCP connection without one).
- Streamed HTTP responses (downloads) likewise wait while more than HTTP_MAX_BUFFERED_BYTES is unsent,
  and a client that does not read within HTTP_DRAIN_TIMEOUT_SECONDS has its connection aborted.
- WebSocket output: what the app sends is written to Twisted's buffer at once, whether the client
  reads or not. A socket whose unsent output is over WS_MAX_BUFFERED_BYTES holds its sender until
  the client drains it back under the bound; if that takes WS_DRAIN_TIMEOUT_SECONDS the socket is
  closed with 1008 and the connection aborted, so its buffer is freed rather than left waiting on a
  peer that does not read (or reads a byte now and then to look alive).
"""

from chatproject.transport_limits.buffers import abort_and_free, unsent_bytes
from chatproject.transport_limits.http import body_limit, hold_response_until_drained, http_response
from chatproject.transport_limits.installer import install
from chatproject.transport_limits.websocket import (
    CLOSE_HANDSHAKE_SECONDS,
    close_overflowing,
    hold_until_drained,
)

__all__ = [
    "CLOSE_HANDSHAKE_SECONDS",
    "abort_and_free",
    "body_limit",
    "close_overflowing",
    "hold_response_until_drained",
    "hold_until_drained",
    "http_response",
    "install",
    "unsent_bytes",
]
