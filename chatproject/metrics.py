"""Our Prometheus metrics and the small functions the hot paths call to move them.

Every instrument is created here, and every label child the hot paths use is created once, at import or
when realtime registers its protocol's frame types (`register_frame_types`, from its AppConfig.ready()):
a frame counts with one dict lookup and one `inc()`, no string formatting. Label values are bounded
(frame types of the protocol, known close codes): a client cannot grow a metric's series by sending
made-up types or close codes.

Several Daphne processes (chatproject.serve) share one scrape through prometheus-client's multiprocess
mode: with PROMETHEUS_MULTIPROC_DIR set before this module is imported, every value lives in a file
of that directory per process, and the scrape (chatproject.metrics_view) sums them. The open-sockets
gauge counts live processes only (`livesum`): serve.py marks a dead worker's files with
`mark_process_dead`.
"""

import logging
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from chatproject.request_id import current_request_id, request_id_from_scope

socket_log = logging.getLogger("chat.socket")

# Close codes worth a series of their own, with the reason logged for each; any other code a client
# sends is counted as "other".
CLOSE_REASONS = {
    1000: "normal closure",
    1001: "going away",
    1006: "connection lost without a close frame",
    1008: "policy violation (client not reading its output, or flooding frames)",
    1009: "frame too big",
    1011: "server error",
    1012: "service restart",
    1013: "try again later (channel layer or database unavailable, server busy, or the socket fell behind)",
    4401: "unauthenticated or credentials expired",
    4403: "account disabled",
    4429: "too many sockets for this user",
}
KNOWN_CLOSE_CODES = tuple(CLOSE_REASONS)
# Frames that could not be parsed into a type, or name a type the protocol does not have.
INVALID_FRAME, UNKNOWN_FRAME = "invalid", "unknown"

OPEN_SOCKETS = Gauge(
    "chat_websocket_open",
    "WebSockets open now (accepted and authenticated, not yet closed).",
    multiprocess_mode="livesum",
)
FRAMES_RECEIVED = Counter("chat_websocket_frames_received", "Client frames received, by type.", ["type"])
FRAMES_SENT = Counter("chat_websocket_frames_sent", "Frames sent to clients, by type.", ["type"])
FRAMES_FANNED_OUT = Counter(
    "chat_websocket_frames_fanned_out",
    "Frames written by the local fan-out (framed once per process for all its sockets), a part of frames sent.",
)
CLOSES = Counter("chat_websocket_closes", "WebSockets closed, by close code.", ["code"])
MESSAGES_SENT = Counter("chat_messages_sent", "Messages stored (committed), over REST and WebSocket.")
BROADCAST_DELIVERY = Histogram(
    "chat_broadcast_delivery_seconds",
    "From a new message's broadcast leaving the committing process to its arrival at a socket.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LAYER_ERRORS = Counter(
    "chat_channel_layer_errors", "Channel layer (Redis) failures, by what failed.", ["kind"]
)
RESUMES = Counter("chat_websocket_resumes", "`resume` commands run.")
REPLAYED = Counter("chat_websocket_replayed_messages", "Messages replayed to sockets by `resume`.")
FRAMES_DROPPED = Counter(
    "chat_websocket_frames_dropped",
    "Frames not sent because the client had already gone (a normal disconnect with frames in flight).",
)
FELL_BEHIND = Counter(
    "chat_websocket_fell_behind",
    "Sockets closed with 1013 because more than WS_MAX_QUEUED_EVENTS events waited for them.",
)
HANDSHAKES_SHED = Counter(
    "chat_websocket_handshakes_shed",
    "Handshakes answered at once with 1013 because WS_MAX_HANDSHAKES_IN_PROGRESS were in progress.",
)
CAUGHT_UP = Counter(
    "chat_websocket_frames_caught_up",
    "Frames a socket that fell behind wrote from its process's recent messages (realtime.socket.relay), a part of "
    "frames fanned out.",
)
GAP_FILLS = Counter(
    "chat_websocket_gap_fills",
    "Gaps in a chat's seqs a process filled from the database once for all its sockets (realtime.layer.ordering).",
)
GAP_FILLED_MESSAGES = Counter(
    "chat_websocket_gap_filled_messages", "Messages read from the database to fill those gaps."
)
THROTTLED = Counter(
    "chat_throttled", "Requests and frames refused for a rate limit, by transport.", ["transport"]
)

# Per frame type, its series; realtime adds the protocol's types (register_frame_types).
_RECEIVED = {name: FRAMES_RECEIVED.labels(name) for name in (INVALID_FRAME, UNKNOWN_FRAME)}
_RECEIVED_UNKNOWN = _RECEIVED[UNKNOWN_FRAME]
_SENT = {"other": FRAMES_SENT.labels("other")}
_SENT_OTHER = _SENT["other"]
_CLOSES = {code: CLOSES.labels(str(code)) for code in KNOWN_CLOSE_CODES}
_CLOSES_OTHER = CLOSES.labels("other")
# Layer failures: a broadcast that timed out, failed or found the sender's queue full; the watchdog's
# ping failing (every socket of the process then closes with 1013); a socket's own layer call failing.
LAYER_ERROR_KINDS = ("broadcast_timeout", "broadcast_failed", "broadcast_queue_full", "ping_failed", "socket")
_LAYER_ERRORS = {kind: LAYER_ERRORS.labels(kind) for kind in LAYER_ERROR_KINDS}
_THROTTLED = {transport: THROTTLED.labels(transport) for transport in ("http", "websocket")}


def register_frame_types(*, received: Iterable[str], sent: Iterable[str]) -> None:
    """Give each frame type a client may send (`received`) and the server sends (`sent`) its own series."""
    for name in received:
        _RECEIVED.setdefault(name, FRAMES_RECEIVED.labels(name))
    for name in sent:
        _SENT.setdefault(name, FRAMES_SENT.labels(name))


def frame_received(frame_type: str | None) -> None:
    """A client frame of `frame_type` arrived (None: not a JSON object with a string `type`)."""
    if frame_type is None:
        _RECEIVED[INVALID_FRAME].inc()
    else:
        _RECEIVED.get(frame_type, _RECEIVED_UNKNOWN).inc()


def frame_sent(frame_type: str, count: int = 1) -> None:
    """`count` frames of `frame_type` were handed to sockets."""
    _SENT.get(frame_type, _SENT_OTHER).inc(count)


def frames_fanned_out(frame_type: str, count: int) -> None:
    """The local fan-out wrote `count` frames of `frame_type`, one per socket (realtime.layer.fanout)."""
    frame_sent(frame_type, count)
    FRAMES_FANNED_OUT.inc(count)


def message_sent() -> None:
    """A message was stored; call it on commit."""
    MESSAGES_SENT.inc()


def broadcast_delivered(sent_at: float | None, count: int = 1) -> None:
    """A broadcast new message reached `count` sockets at once; `sent_at` is the time.time() it left its process.

    Across hosts this includes their clock difference; a negative value (a clock behind) counts as 0.
    """
    if sent_at is not None:
        _observe_many(BROADCAST_DELIVERY, max(0.0, time.time() - sent_at), count)


def _observe_many(histogram: Histogram, value: float, count: int) -> None:
    """`count` observations of one value: one bucket and sum update instead of `count` (the local fan-out
    delivers one message to hundreds of sockets at the same instant). Uses Histogram's own fields, as
    observe() does; a prometheus-client without them gets `count` observe() calls."""
    buckets = getattr(histogram, "_buckets", None)
    bounds = getattr(histogram, "_upper_bounds", None)
    if count == 1 or buckets is None or bounds is None:
        for _ in range(count):
            histogram.observe(value)
        return
    histogram._sum.inc(value * count)
    for bound, bucket in zip(bounds, buckets, strict=True):
        if value <= bound:
            bucket.inc(count)
            break


def layer_error(kind: str) -> None:
    """The channel layer failed; `kind` is one of LAYER_ERROR_KINDS."""
    _LAYER_ERRORS[kind].inc()


def resumed() -> None:
    """A socket ran `resume`."""
    RESUMES.inc()


def frame_dropped() -> None:
    """A frame was not sent: its client had gone."""
    FRAMES_DROPPED.inc()


def fell_behind() -> None:
    """A socket was closed for falling behind its chats."""
    FELL_BEHIND.inc()


def handshake_shed() -> None:
    """A handshake was answered with 1013 at once: too many in progress."""
    HANDSHAKES_SHED.inc()


def caught_up(count: int) -> None:
    """A socket that fell behind wrote `count` frames from its process's recent messages."""
    CAUGHT_UP.inc(count)


def process_gap_filled(count: int) -> None:
    """A process filled one gap of a chat from the database with `count` messages."""
    GAP_FILLS.inc()
    if count:
        GAP_FILLED_MESSAGES.inc(count)


def replayed(count: int) -> None:
    """`count` messages were replayed to a socket."""
    if count:
        REPLAYED.inc(count)


def throttled(transport: str) -> None:
    """A request ("http") or frame ("websocket") was refused for a rate limit."""
    _THROTTLED[transport].inc()


class SocketRecord:
    """One socket's lifecycle for the metrics and the log: opened once, closed once."""

    __slots__ = ("closed", "opened", "path", "request_id", "started", "user_id")

    def __init__(self, *, user_id: int | None, path: str, request_id: str, opened: bool):
        self.user_id = user_id
        self.path = path
        self.request_id = request_id
        self.opened = opened
        self.closed = False
        self.started = time.monotonic()


def socket_opened(scope: dict[str, Any], *, accepted: bool = True) -> SocketRecord:
    """A socket was accepted (`accepted`: authenticated and kept, not about to be refused with a code).

    Counts it open and logs "websocket open" with the handshake's request id (chatproject.request_id),
    which the socket's later records (its task's context) carry too.
    """
    user = scope.get("user")
    user_id = user.pk if user is not None else None
    record = SocketRecord(
        user_id=user_id, path=scope.get("path", ""), request_id=request_id_from_scope(scope), opened=accepted
    )
    current_request_id.set(record.request_id)
    if accepted:
        OPEN_SOCKETS.inc()
        socket_log.info(
            "websocket open",
            extra={
                "event": "websocket_open",
                "request_id": record.request_id,
                "user_id": user_id,
                "path": record.path,
            },
        )
    return record


def socket_closed(record: SocketRecord | None, code: int | None) -> None:
    """A socket closed with `code` (None: no close frame): counted by code and logged once."""
    if record is None or record.closed:
        return
    record.closed = True
    if record.opened:
        OPEN_SOCKETS.dec()
    if code is None:
        code = 1006  # no close frame: what a client sees when the connection just ends
    _CLOSES.get(code, _CLOSES_OTHER).inc()
    socket_log.info(
        "websocket close",
        extra={
            "event": "websocket_close",
            "request_id": record.request_id,
            "user_id": record.user_id,
            "path": record.path,
            "code": code,
            "reason": CLOSE_REASONS.get(code, "other"),
            "duration_ms": round((time.monotonic() - record.started) * 1000, 1),
        },
    )
