"""Message failures, each with a stable code."""

from chatproject.errors import InvalidError
from chats.errors import NotChatMemberError

__all__ = [
    "InvalidClientIdError",
    "InvalidReplyError",
    "MessageEmptyError",
    "MessageTooLongError",
    "NotChatMemberError",
]


class MessageEmptyError(InvalidError):
    """Content is empty or only whitespace (the seed's words)."""

    code = "message_empty"
    message = "message content cannot be empty"


class MessageTooLongError(InvalidError):
    """Content is over settings.MESSAGE_MAX_LENGTH characters."""

    code = "message_too_long"
    message = "message content is too long"


class InvalidReplyError(InvalidError):
    """reply_to must name a message of the same chat."""

    code = "invalid_reply"
    message = "reply_to must be a message in the same chat"


class InvalidClientIdError(InvalidError):
    """client_id is a string of 1 to 64 characters."""

    code = "invalid_client_id"
    message = "client_id must be 1 to 64 characters"
