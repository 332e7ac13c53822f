"""Message failures, each with a stable code."""

from chatproject.errors import (
    ForbiddenError,
    InvalidError,
    NotFoundError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from chats.errors import NotChatMemberError

__all__ = [
    "AttachmentEmptyError",
    "AttachmentNotFoundError",
    "AttachmentTooLargeError",
    "AttachmentTypeError",
    "InvalidAttachmentError",
    "InvalidClientIdError",
    "InvalidEmojiError",
    "InvalidReplyError",
    "InvalidSearchQueryError",
    "InvalidUploadError",
    "MessageDeletedError",
    "MessageEmptyError",
    "MessageNotFoundError",
    "MessageTooLongError",
    "NotChatMemberError",
    "NotMessageAuthorError",
    "NotMessageModeratorError",
]


class MessageEmptyError(InvalidError):
    """Content is empty or only whitespace (the seed's words)."""

    code = "message_empty"
    message = "message content cannot be empty"


class MessageTooLongError(InvalidError):
    """Content is over MESSAGE_MAX_LENGTH characters."""

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


# --- edits, deletions, reactions -----------------------------------------------------------------


class MessageNotFoundError(NotFoundError):
    """No message has that id, or it is in a chat the caller is not in: the same answer for both."""

    code = "message_not_found"
    message = "message not found"


class NotMessageAuthorError(ForbiddenError):
    """Only the sender may edit a message."""

    code = "not_message_author"
    message = "only the sender can edit a message"


class NotMessageModeratorError(ForbiddenError):
    """Deleting someone else's message takes a group owner or admin of its chat, or staff."""

    code = "cannot_delete_message"
    message = "only the sender, a group owner or admin, or a moderator can delete a message"


class MessageDeletedError(InvalidError):
    """A deleted message is a tombstone: it cannot be edited or reacted to."""

    code = "message_deleted"
    message = "message has been deleted"


class InvalidEmojiError(InvalidError):
    """An emoji is 1 to 32 characters with no whitespace."""

    code = "invalid_emoji"
    message = "emoji must be 1 to 32 characters without whitespace"


class InvalidSearchQueryError(InvalidError):
    """A search needs a word character, or at least 3 characters to match as a substring."""

    code = "invalid_search_query"
    message = "q must contain a letter or digit, or be at least 3 characters long"


# --- attachments -----------------------------------------------------------------------------------


class AttachmentTooLargeError(TooLargeError):
    """The upload is over ATTACHMENT_MAX_BYTES."""

    code = "attachment_too_large"
    message = "file is too large"


class AttachmentEmptyError(InvalidError):
    """A zero-byte upload."""

    code = "attachment_empty"
    message = "file is empty"


class AttachmentTypeError(UnsupportedMediaTypeError):
    """The content (sniffed, not the client's word) is not an allowed type."""

    code = "unsupported_attachment_type"
    message = "file type not allowed: PNG, JPEG, GIF, WebP, PDF or UTF-8 text only"


class InvalidUploadError(InvalidError):
    """Not a multipart/form-data body with one file in the field `file`."""

    code = "invalid_upload"
    message = "expected a multipart/form-data body with a file in the field `file`"


class InvalidAttachmentError(InvalidError):
    """attachment_ids must name the sender's own uploads that no message carries yet."""

    code = "invalid_attachment"
    message = "attachment_ids must name your own uploads that are not sent yet"


class AttachmentNotFoundError(NotFoundError):
    """No attachment has that id, or the caller may not read it: the same answer for both."""

    code = "attachment_not_found"
    message = "attachment not found"
