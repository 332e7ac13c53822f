"""One group message's local fan-out: the work shared by every socket of this process that takes it now.

realtime.layer.pubsub builds one Fanout per group message per process and offers it to each attached socket
of the group (realtime.socket.relay.EventRelay.deliver_now); the frame is framed for the wire once, on first
use (chatproject.server.wire), and the metrics are counted once for all the sockets it reached.
"""

from typing import Any

from chatproject import metrics
from chatproject.server.wire import prepare
from realtime.groups import chat_id_of_group
from realtime.protocol.event_types import ServerEvent


class Fanout:
    """A decoded group message, its chat and its prepared frame, shared by the group's local sockets."""

    __slots__ = ("_recent", "_wire_frame", "chat_id", "message", "seq", "written")

    def __init__(self, message: dict[str, Any], recent: "dict[int, Fanout] | None" = None) -> None:
        self.message = message
        self.chat_id = chat_id_of_group(message.get("group", ""))
        payload = message.get("payload")
        self.seq: int = payload.get("seq", 0) if isinstance(payload, dict) else 0
        self.written = 0  # sockets the prepared frame was written to
        self._wire_frame: bytes | None = None
        # The chat's messages handed over in order before this one (realtime.layer.ordering), if kept.
        self._recent = recent

    def earlier(self, after_seq: int) -> "list[Fanout] | None":
        """The chat's messages after `after_seq` and before this one, oldest first, when this process still
        keeps every one of them (realtime.layer.ordering); None otherwise."""
        recent = self._recent
        if recent is None or self.seq - after_seq - 1 > len(recent):
            return None
        found = []
        for seq in range(after_seq + 1, self.seq):
            kept = recent.get(seq)
            if kept is None:
                return None
            found.append(kept)
        return found

    def wire_frame(self) -> bytes | None:
        """The message's client frame, framed for the wire (built once, by the first socket that asks);
        None for a message without its encoded frame (from a process that does not add it)."""
        if self._wire_frame is None:
            text = self.message.get("frame")
            if not isinstance(text, str):
                return None
            self._wire_frame = prepare(text)
        return self._wire_frame

    def finish(self) -> None:
        """Count what was written, once for all the sockets it reached."""
        if self.written:
            metrics.frames_fanned_out(self.message["event"], self.written)
            if self.message["event"] == ServerEvent.NEW_MESSAGE:
                metrics.broadcast_delivered(self.message.get("sent_at"), self.written)
