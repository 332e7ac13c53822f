"""Chat failures, each with a stable code."""

from accounts.errors import UserNotFoundError
from chatproject.errors import ForbiddenError, InvalidError, NotFoundError

__all__ = [
    "CannotRemoveMemberError",
    "ChatNotFoundError",
    "ChatNotGroupError",
    "InvalidChatNameError",
    "InvalidReadSeqError",
    "InvalidRoleError",
    "MemberNotFoundError",
    "NotChatAdminError",
    "NotChatMemberError",
    "OwnerRoleChangeError",
    "PrivateChatMembershipError",
    "PrivateChatWithSelfError",
    "UserNotFoundError",
]


class NotChatMemberError(ForbiddenError):
    """The caller is not in the chat, or it does not exist: the same answer, so ids reveal nothing."""

    code = "not_chat_member"
    # The seed's words, each for its transport.
    message = "user is not a member of the chat"
    socket_message = "you are not a member of this chat"


class ChatNotFoundError(NotFoundError):
    """No chat has that id (for internal callers; the API answers NotChatMemberError instead)."""

    code = "chat_not_found"
    message = "chat not found"


class NotChatAdminError(ForbiddenError):
    """Only the chat's owner or an admin may do this."""

    code = "not_chat_admin"
    message = "only the chat owner or an admin can do this"


class CannotRemoveMemberError(ForbiddenError):
    """Admins may remove plain members only; the owner may remove anyone."""

    code = "cannot_remove_member"
    message = "admins can remove members only; the owner can remove anyone"


class MemberNotFoundError(NotFoundError):
    """The user to remove is not in the chat."""

    code = "member_not_found"
    message = "member not found"


class PrivateChatMembershipError(InvalidError):
    """Private chats have exactly their two members, forever."""

    code = "private_chat_membership"
    message = "private chats have fixed membership"


class ChatNotGroupError(InvalidError):
    """The operation exists for group chats only (renaming)."""

    code = "not_group_chat"
    message = "only group chats can be renamed"


class PrivateChatWithSelfError(InvalidError):
    """A private chat needs another person."""

    code = "private_chat_with_self"
    message = "cannot create a private chat with yourself"


class InvalidChatNameError(InvalidError):
    """Group names are 1 to 255 characters and not only whitespace."""

    code = "invalid_chat_name"
    message = "name must be 1 to 255 characters and not blank"


class InvalidReadSeqError(InvalidError):
    """Read markers point at a message that exists: 0 <= seq <= the chat's newest seq."""

    code = "invalid_seq"
    message = "seq must be between 0 and the seq of the newest message"


class InvalidRoleError(InvalidError):
    """A member's role is one of owner, admin, member."""

    code = "invalid_role"
    message = "role must be owner, admin or member"


class OwnerRoleChangeError(InvalidError):
    """A group keeps one owner: ownership moves by making another member the owner."""

    code = "owner_role_change"
    message = "the owner's role cannot be lowered; make another member the owner instead"
