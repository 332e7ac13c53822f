"""Chat writes, one module per sub-domain: `chat` (creating and renaming chats), `members` (group
membership), `cursors` (seqs and read markers), `participants` (the users a write names). The names
below are the public services, re-exported: `from chats import services` stays the one call shape.

Every service that changes a chat's membership or name locks the chat row first (select_for_update),
the same lock messaging.services.message_send takes: membership changes and sends are serialised per
chat, so a removed member cannot slip a message in after removal, and locks are always taken chat
row first, then member rows (no deadlock between these services).
"""

from chats.services.chat import NAME_MAX_LENGTH, chat_create_group, chat_create_private, chat_rename
from chats.services.cursors import chat_mark_read, chat_take_next_seq, member_read_own_send
from chats.services.members import member_add, member_remove, member_set_role

__all__ = [
    "NAME_MAX_LENGTH",
    "chat_create_group",
    "chat_create_private",
    "chat_mark_read",
    "chat_rename",
    "chat_take_next_seq",
    "member_add",
    "member_read_own_send",
    "member_remove",
    "member_set_role",
]
