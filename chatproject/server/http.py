"""HTTP: request bodies refused as they arrive, Twisted's and Daphne's own answers in JSON, streamed
responses held while their client does not read."""

import asyncio
import json
import logging
from typing import Any, cast

from chatproject.conf import chat_settings
from chatproject.errors import (
    BadRequestError,
    InternalError,
    ServiceUnavailableError,
    error_body,
)
from chatproject.logs import answered_before_the_app
from chatproject.server.body_limits import body_limit
from chatproject.server.buffers import _DRAIN_POLL_SECONDS, abort_and_free, unsent_bytes

logger = logging.getLogger(__name__)

# A refused body's connection keeps reading (and dropping) the rest this long after the answer, so
# the client's kernel sees no reset before it has read the 413; then the connection is aborted.
LINGER_SECONDS = 5.0


# Bodies only: Daphne's error path sends Content-Type alone, so its 503 has no Retry-After.
_DAPHNE_ERRORS = {
    error.status_code: error.as_dict()
    for error in (BadRequestError(), InternalError(), ServiceUnavailableError())
}


def http_response(status: int, reason: str, body: dict[str, Any], request_id: str | None = None) -> bytes:
    """A whole HTTP/1.1 answer with a JSON body that closes the connection."""
    payload = json.dumps(body).encode()
    # A request id is a safe token (chatproject.request_id): nothing in it can break the header.
    extra = f"X-Request-ID: {request_id}\r\n" if request_id else ""
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + payload


def _discard(*args: Any) -> None:
    """Drop data received after the connection's request was refused."""


def _refuse(request: Any, body: dict[str, Any]) -> None:
    """Answer 413 now, read no more of the request, and close.

    The write side closes once the answer is out (the client reads it, then EOF); what the client
    still sends is read and dropped for LINGER_SECONDS, so it is not answered with a reset that could
    discard the 413 in its kernel before it reads it; then the connection is aborted.
    """
    from twisted.internet import reactor

    request._body_refused = True
    channel = request.channel
    # Neither parse nor buffer the rest; Twisted would also answer "100 Continue" after our 413.
    channel.dataReceived = channel.lineReceived = channel.rawDataReceived = _discard
    request.requestHeaders.removeHeader(b"Expect")
    transport = channel.transport
    rid = answered_before_the_app(request, 413)
    transport.write(http_response(413, "Content Too Large", body, rid))
    if hasattr(transport, "loseWriteConnection"):
        transport.loseWriteConnection()
    else:  # pragma: no cover - a transport that cannot half-close (TLS)
        transport.loseConnection()
    cast(Any, reactor).callLater(LINGER_SECONDS, transport.abortConnection)


def patch_http(web_request: Any, http_channel: Any) -> None:
    """Bodies refused as they arrive, and Twisted's and Daphne's own answers in JSON (see the package)."""
    original_got_length = web_request.gotLength
    original_handle_content_chunk = web_request.handleContentChunk
    original_request_received = web_request.requestReceived

    def got_length(self: Any, length: int | None) -> None:
        """Refuse a body whose Content-Length is over the route's limit before any of it is read."""
        # Twisted's multipart parse of the whole body fills `request.args`, which Daphne never reads.
        # (Request.__init__ sets the flag, so it is turned off here, before requestReceived.)
        self._parsePOSTFormSubmission = False
        self._body_received = 0
        self._body_refused = False
        self._body_limit, self._body_too_large = body_limit(getattr(self.channel, "_path", b""))
        if length is not None and self._body_limit is not None and length > self._body_limit:
            original_got_length(self, 0)
            _refuse(self, self._body_too_large)
            return
        original_got_length(self, length)

    def handle_content_chunk(self: Any, data: bytes) -> None:
        """Count a chunked (or any) body as it arrives; refuse it at the first byte over the limit."""
        if getattr(self, "_body_refused", False):
            return
        limit = getattr(self, "_body_limit", None)
        self._body_received = getattr(self, "_body_received", 0) + len(data)
        if limit is not None and self._body_received > limit:
            _refuse(self, self._body_too_large)
            return
        original_handle_content_chunk(self, data)

    def request_received(self: Any, command: bytes, path: bytes, version: bytes) -> None:
        """A refused request never reaches the app, even when its end was in the same read."""
        if getattr(self, "_body_refused", False):
            return
        original_request_received(self, command, path, version)

    def basic_error(self: Any, status: int, status_text: bytes, body: str) -> None:
        """Daphne's own error answers (invalid header, app timeout, crash) in the API's JSON shape."""
        error = _DAPHNE_ERRORS.get(status, error_body(status_text.decode("ascii").lower(), "error"))
        rid = answered_before_the_app(self, status).encode()
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"Content-Type", b"application/json"), (b"X-Request-ID", rid)],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": json.dumps(error).encode()})

    def respond_to_bad_request_and_disconnect(self: Any) -> None:
        """Twisted's 400 for what it cannot parse (NUL or CR in a header, bad request line), as JSON."""
        self.transport.write(http_response(400, "Bad Request", BadRequestError().as_dict()))
        self.loseConnection()

    web_request.gotLength = got_length
    web_request.handleContentChunk = handle_content_chunk
    web_request.requestReceived = request_received
    web_request.basic_error = basic_error
    http_channel._respondToBadRequestAndDisconnect = respond_to_bad_request_and_disconnect


async def hold_response_until_drained(request: Any) -> None:
    """Wait while an HTTP response's unsent bytes are over HTTP_MAX_BUFFERED_BYTES (a streamed download).

    Daphne writes each body chunk into Twisted's buffer at once, so a client that does not read would
    make the server hold the whole file. The app's next chunk waits here instead; a client that does not
    take the output back under the bound within HTTP_DRAIN_TIMEOUT_SECONDS has its connection aborted.
    """
    channel = getattr(request, "channel", None)
    transport = getattr(channel, "transport", None)
    bound = chat_settings.HTTP_MAX_BUFFERED_BYTES
    if transport is None or unsent_bytes(transport) <= bound:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + chat_settings.HTTP_DRAIN_TIMEOUT_SECONDS
    while not request.finished and request.channel is not None and unsent_bytes(transport) > bound:
        if loop.time() >= deadline:
            logger.warning("aborting HTTP response to %s: client not reading", request.client_addr)
            abort_and_free(transport)
            return
        await asyncio.sleep(_DRAIN_POLL_SECONDS)
