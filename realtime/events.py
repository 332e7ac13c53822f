"""broadcast_on_commit: the single doorway from a transaction to the sockets."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from realtime import frames

logger = logging.getLogger(__name__)

# Consumers receive group messages of this type (handler `chat_event`) and forward
# {"type": event, "payload": payload} to their client.
DELIVER_TYPE = "chat.event"


def layer_message(group: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message for one event; `group` tells the consumer which chat it belongs to.

    `frame` is the client frame already encoded: a group's sockets all send the same text, so it is
    encoded once here instead of once per socket (a room of 500 would otherwise encode it 500 times).
    """
    return {
        "type": DELIVER_TYPE,
        "event": event,
        "payload": payload,
        "group": group,
        "frame": frames.encode(event, payload),
    }


def send_to_group(group: str, event: str, payload: dict[str, Any]) -> None:
    """Send one event to a group now; failures are logged, never raised (the write already committed)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, layer_message(group, event, payload))
    except Exception:
        logger.exception("broadcast of %s to %s failed", event, group)


def broadcast_on_commit(group: str, event: str, payload: dict[str, Any]) -> None:
    """Send `{"type": event, "payload": payload}` to a group once the current transaction commits.

    A rolled-back transaction sends nothing; a channel-layer failure after commit is logged.
    """
    transaction.on_commit(lambda: send_to_group(group, event, payload), robust=True)
