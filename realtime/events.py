"""broadcast_on_commit: the single doorway from a transaction to the sockets."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Consumers receive group messages of this type and forward {"type": event, "payload": ...}.
DELIVER_TYPE = "chat.event"


def send_to_group(group: str, event: str, payload: dict[str, Any], **extra: Any) -> None:
    """Send one event to a group now; failures are logged, never raised (the write already committed)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": DELIVER_TYPE, "event": event, "payload": payload, **extra}
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.exception("broadcast of %s to %s failed", event, group)


def broadcast_on_commit(group: str, event: str, payload: dict[str, Any], **extra: Any) -> None:
    """Send `{"type": event, "payload": payload}` to a group once the current transaction commits.

    A rolled-back transaction sends nothing; a channel-layer failure after commit is logged.
    """
    transaction.on_commit(lambda: send_to_group(group, event, payload, **extra), robust=True)
