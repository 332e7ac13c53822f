"""The chat's own settings: one namespace (the `CHAT` setting), typed, read at call time.

Modelled on DRF's `api_settings`: code reads `chat_settings.MESSAGE_MAX_LENGTH`, which is the value in
`settings.CHAT` or else the default declared below, and is re-read whenever a test or `override_settings`
changes `CHAT` (the `setting_changed` signal), so a serializer and a service can never see two values.

Defaults and types live only here. `chatproject/settings/chat.py` builds `CHAT` from the environment
variable of the same name, parsed by the declared type, for each one that is set.
"""

from __future__ import annotations

import typing
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

# A per-user budget's rate: "120/min" (s, sec, second, m, min, minute, h, hour, d, day).
RATE_PATTERN = r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)"

DEFAULTS: dict[str, Any] = {
    # --- messages and attachments ---
    # Longest message content, in characters.
    "MESSAGE_MAX_LENGTH": 4000,
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    "ATTACHMENTS_PER_MESSAGE": 10,
    # Uploads no message carries are removed by the maintenance jobs after this long.
    "ATTACHMENT_UNSENT_MAX_AGE_HOURS": 24.0,
    # Per user: reactions added and removed, over every transport and process (messaging.budget), as
    # "<count>/<s|min|h|day>"; empty: no budget. Past it: 429 with Retry-After, or a rate_limited frame.
    "THROTTLE_REACT": "300/min",
    # --- WebSocket ---
    # Origins a browser handshake may come from (patterns as in ALLOWED_HOSTS, or with a scheme);
    # None means ALLOWED_HOSTS. CORS_ALLOWED_ORIGINS are accepted too (realtime.handshake.origin).
    "WS_ALLOWED_ORIGINS": None,
    "WS_TICKET_SECONDS": 30,
    # Larger frames close the socket with 1009: under Daphne autobahn refuses them as their header
    # arrives (chatproject.server.websocket caps --websocket-max-message-size at this).
    "WS_MAX_FRAME_BYTES": 64 * 1024,
    "WS_SEND_RATE_PER_SECOND": 20,
    # Every client frame counts against this per-socket token bucket, which saves up to WS_FRAME_BURST;
    # frames over it are not run: one naming a client_id gets a `rate_limited` error with it, the others
    # share one such error a second (realtime.socket.rates).
    "WS_FRAME_RATE_PER_SECOND": 30.0,
    "WS_FRAME_BURST": 60,
    # Refused frames spend a bucket of their own, refilled at WS_FRAME_RATE_PER_SECOND: a frame refused
    # while it is empty closes the socket with 1008, so a flood's answers stay bounded.
    "WS_REFUSED_FRAME_BURST": 500,
    # Output a socket may have waiting for a client that is behind: past it the sender waits, and a client
    # that has not drained it back under the bound within WS_DRAIN_TIMEOUT_SECONDS is closed with 1008.
    "WS_MAX_BUFFERED_BYTES": 4 * 1024 * 1024,
    "WS_DRAIN_TIMEOUT_SECONDS": 5.0,
    # The same for a streamed HTTP response (an attachment download).
    "HTTP_MAX_BUFFERED_BYTES": 1024 * 1024,
    "HTTP_DRAIN_TIMEOUT_SECONDS": 30.0,
    # Sockets one user may hold open at once, across every process (realtime.registry); more close with 4429.
    "WS_MAX_SOCKETS_PER_USER": 20,
    "WS_TYPING_INTERVAL_SECONDS": 2.0,
    # Most messages replayed per chat on resume or gap repair; beyond it the client pages over REST.
    "WS_REPLAY_LIMIT": 1000,
    # How long a socket holds a message that arrived ahead of its predecessor before it repairs the gap
    # from the database (concurrent senders' broadcasts can reach the layer a moment out of order).
    "WS_REORDER_WAIT_SECONDS": 0.05,
    # A new socket holds live messages until the client's first frame, or this long, so a `resume`
    # sent right after opening is replayed first.
    "WS_RESUME_WAIT_SECONDS": 0.5,
    # A client that opens with `?resume=1` promises `resume` as its first frame: live messages wait for
    # it (a slow link or a busy client may take longer than WS_RESUME_WAIT_SECONDS), at most this long.
    "WS_RESUME_PROMISED_WAIT_SECONDS": 10.0,
    # A handshake not decided within this long (a hung database or Redis) is accepted and closed with
    # 1013; keep it below Daphne's --websocket_connect_timeout (30 s under chatproject.serve), which
    # answers nothing.
    "WS_HANDSHAKE_TIMEOUT_SECONDS": 3.0,
    # Handshakes one process works on at once; one more is answered at once (accepted, an error frame
    # `server_busy` with `retry_after`, then closed 1013) instead of waiting in a queue that times out
    # whole under a reconnect storm (realtime.handshake.admission). 0: no bound.
    "WS_MAX_HANDSHAKES_IN_PROGRESS": 64,
    # Events a socket may have queued, not yet sent, before it counts as fallen behind its chats: it is
    # then closed with 1013, and its client reconnects and resumes from the database (realtime.layer.pubsub).
    "WS_MAX_QUEUED_EVENTS": 2000,
    # How often each process pings Redis; on failure its sockets close with 1013.
    "WS_LAYER_CHECK_SECONDS": 2.0,
    # --- broadcasts (realtime.broadcast) ---
    # Each send to the channel layer may take this long before it is dropped (clients repair gaps from
    # the database), and at most this many wait; a full queue drops new ones.
    "BROADCAST_TIMEOUT_SECONDS": 1.0,
    "BROADCAST_QUEUE_SIZE": 10000,
    # --- presence (realtime.presence) ---
    # A socket's entry expires this long after its process last refreshed it (every
    # PRESENCE_HEARTBEAT_SECONDS): how long a user of a crashed process still shows online.
    "PRESENCE_TTL_SECONDS": 30.0,
    "PRESENCE_HEARTBEAT_SECONDS": 10.0,
    # Presence frames go to chats of at most this many members; larger rooms read `online` over REST.
    "PRESENCE_FANOUT_MAX_MEMBERS": 100,
    # --- process ---
    # On SIGTERM a process stops listening, closes its sockets with 1012 and lets in-flight requests
    # finish, exiting within this long (chatproject.server.graceful).
    "SHUTDOWN_GRACE_SECONDS": 10.0,
    # The browser client at `/`; off, `/` is a JSON 404 and the admin has no "View site" link.
    "WEB_CLIENT": True,
}


class ChatSettings:
    """Attribute access to the chat's settings; each value is looked up once and cached until CHAT changes."""

    # The declared type of every setting: mypy reads these, and the environment is parsed by them.
    MESSAGE_MAX_LENGTH: int
    ATTACHMENT_MAX_BYTES: int
    ATTACHMENTS_PER_MESSAGE: int
    ATTACHMENT_UNSENT_MAX_AGE_HOURS: float
    THROTTLE_REACT: str
    WS_ALLOWED_ORIGINS: list[str] | None
    WS_TICKET_SECONDS: int
    WS_MAX_FRAME_BYTES: int
    WS_SEND_RATE_PER_SECOND: int
    WS_FRAME_RATE_PER_SECOND: float
    WS_FRAME_BURST: int
    WS_REFUSED_FRAME_BURST: int
    WS_MAX_BUFFERED_BYTES: int
    WS_DRAIN_TIMEOUT_SECONDS: float
    HTTP_MAX_BUFFERED_BYTES: int
    HTTP_DRAIN_TIMEOUT_SECONDS: float
    WS_MAX_SOCKETS_PER_USER: int
    WS_TYPING_INTERVAL_SECONDS: float
    WS_REPLAY_LIMIT: int
    WS_REORDER_WAIT_SECONDS: float
    WS_RESUME_WAIT_SECONDS: float
    WS_RESUME_PROMISED_WAIT_SECONDS: float
    WS_HANDSHAKE_TIMEOUT_SECONDS: float
    WS_MAX_HANDSHAKES_IN_PROGRESS: int
    WS_MAX_QUEUED_EVENTS: int
    WS_LAYER_CHECK_SECONDS: float
    BROADCAST_TIMEOUT_SECONDS: float
    BROADCAST_QUEUE_SIZE: int
    PRESENCE_TTL_SECONDS: float
    PRESENCE_HEARTBEAT_SECONDS: float
    PRESENCE_FANOUT_MAX_MEMBERS: int
    SHUTDOWN_GRACE_SECONDS: float
    WEB_CLIENT: bool

    def __init__(self) -> None:
        self._cached: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not cached on the instance yet.
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid chat setting: {name!r}")
        user = getattr(settings, "CHAT", {})
        unknown = set(user) - set(DEFAULTS)
        if unknown:
            raise ImproperlyConfigured(f"Unknown CHAT settings: {', '.join(sorted(unknown))}")
        # A top-level setting of the same name (`override_settings(WS_REPLAY_LIMIT=2)`) wins; no
        # settings module defines one, so only an explicit override does.
        value = getattr(settings, name, user.get(name, DEFAULTS[name]))
        setattr(self, name, value)
        self._cached.add(name)
        return value

    def reload(self) -> None:
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()


def setting_types() -> dict[str, Any]:
    """Each setting's declared type (what chatproject/settings/chat.py parses the environment by)."""
    hints = typing.get_type_hints(ChatSettings)
    return {name: hints[name] for name in DEFAULTS}


chat_settings = ChatSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHAT" or setting in DEFAULTS:
        chat_settings.reload()


setting_changed.connect(_reload)
