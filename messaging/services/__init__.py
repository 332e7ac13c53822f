"""Message writes, one sub-module per sub-domain: `send` (new messages) and `changes` (edits, deletions, reactions).

Attachment writes live in messaging.attachments.services. The names below are the public services,
re-exported so that `from messaging import services; services.message_send(...)` stays the one call shape.
"""

from messaging.services.changes import (
    message_delete,
    message_edit,
    messages_erase_for_deleted_user,
    reaction_add,
    reaction_remove,
)
from messaging.services.send import message_send

__all__ = [
    "message_delete",
    "message_edit",
    "message_send",
    "messages_erase_for_deleted_user",
    "reaction_add",
    "reaction_remove",
]
