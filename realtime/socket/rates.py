"""One socket's frame rates, and the answer every frame over them gets.

Every client frame spends a token of the socket's frame bucket (WS_FRAME_RATE_PER_SECOND, saving up
to WS_FRAME_BURST); `send_message` also one of its send bucket (WS_SEND_RATE_PER_SECOND). A frame
over the frame rate is not run, but it is answered, so a client can tell which sends to repeat: a
frame naming a `client_id` gets a `rate_limited` error of its own with that `client_id` and
`retry_after`; frames without one share one such error a second.

Answers are output, and a flood must not turn into unbounded output: refused frames also spend a
refusal bucket (refilled at the frame rate, saving up to WS_REFUSED_FRAME_BURST). A frame refused
while that is empty closes the socket with 1008, which tells the client to reconnect, `resume`, and
send again what was not answered. So a socket answers at most what its rates let through plus the
refusal bucket, each answer one short frame, however fast the client sends.
"""

import json
import time

from chatproject.conf import chat_settings
from messaging.models import CLIENT_ID_MAX_LENGTH


class TokenBucket:
    """A per-socket rate: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, *, rate: float, burst: float):
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.tokens = self.burst
        self.updated = time.monotonic()

    def take(self) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there will be."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else 60.0


class SocketRates:
    """One socket's buckets (frames, sends, refusals) and the pace of its shared refusal answers."""

    def __init__(self) -> None:
        frame_rate = chat_settings.WS_FRAME_RATE_PER_SECOND
        self.frames = TokenBucket(rate=frame_rate, burst=chat_settings.WS_FRAME_BURST)
        self.sends = TokenBucket(
            rate=chat_settings.WS_SEND_RATE_PER_SECOND, burst=chat_settings.WS_SEND_RATE_PER_SECOND
        )
        self.refusals = TokenBucket(rate=frame_rate, burst=chat_settings.WS_REFUSED_FRAME_BURST)
        self.shared_answer_at = float("-inf")

    def refusal_answerable(self) -> bool:
        """Count a refused frame; False once the socket refused more than its refusal bucket allows."""
        return not self.refusals.take()

    def shared_answer_due(self) -> bool:
        """Whether a refused frame without a client_id is answered: one such answer a second."""
        now = time.monotonic()
        if now - self.shared_answer_at < 1.0:
            return False
        self.shared_answer_at = now
        return True


def retry_after(wait: float) -> float:
    """A bucket's wait as a frame's `retry_after`: to the millisecond, and never 0 (the protocol's minimum)."""
    return max(round(wait, 3), 0.001)


def frame_client_id(raw: str | bytes) -> str | None:
    """The `client_id` in a raw frame's payload, when it is one a send may carry (1 to 64 characters).

    Longer ones are not echoed: a refused frame's answer stays a short frame whatever the client sent.
    """
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    payload = frame.get("payload") if isinstance(frame, dict) else None
    client_id = payload.get("client_id") if isinstance(payload, dict) else None
    if isinstance(client_id, str) and 1 <= len(client_id) <= CLIENT_ID_MAX_LENGTH:
        return client_id
    return None
