"""Channel-layer group names: the only place they are built (and read back)."""


def chat_group(chat_id: int) -> str:
    """The group every socket of every member of a chat joins."""
    return f"chat.{chat_id}"


def user_group(user_id: int) -> str:
    """The group every socket of one user joins."""
    return f"user.{user_id}"


def chat_id_of_group(group: str) -> int | None:
    """The chat id of a chat group's name; None for any other group."""
    prefix = chat_group(0)[:-1]
    return int(group[len(prefix) :]) if group.startswith(prefix) else None
