"""Message reads, one sub-module per sub-domain: `history`, `changes` (the change feed), `reactions`, `search`.

Attachment reads live in messaging.attachments.selectors. The names below are the public selectors,
re-exported so that `from messaging import selectors; selectors.message_history(...)` stays the one call shape.
"""

from messaging.selectors.changes import messages_changed
from messaging.selectors.history import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    clamp_limit,
    message_get_for_member,
    message_history,
    messages_after,
    messages_load_details,
    messages_window,
)
from messaging.selectors.reactions import ReactionCount, reactions_attach
from messaging.selectors.search import message_search

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "ReactionCount",
    "clamp_limit",
    "message_get_for_member",
    "message_history",
    "message_search",
    "messages_after",
    "messages_changed",
    "messages_load_details",
    "messages_window",
    "reactions_attach",
]
