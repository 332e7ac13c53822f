"""Channel-layer group names: the only place they are built."""


def chat_group(chat_id: int) -> str:
    """The group every socket of every member of a chat joins."""
    return f"chat.{chat_id}"


def user_group(user_id: int) -> str:
    """The group every socket of one user joins."""
    return f"user.{user_id}"
