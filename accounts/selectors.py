"""Account reads."""

from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Lower

from accounts.errors import SearchTooShortError, UserNotFoundError
from accounts.models import User


def users_with_email(*, email: str) -> QuerySet[User]:
    """Users whose email equals `email` case-insensitively (zero or one row).

    Compares LOWER(email) = LOWER(%s), the exact expression of the unique index
    accounts_user_email_ci_unique, so PostgreSQL answers from that index; `email__iexact`
    would compare UPPER(...) and scan the table.
    """
    return User.objects.alias(email_ci=Lower("email")).filter(email_ci=Lower(Value(email.strip())))


def user_get_by_email(*, email: str) -> User:
    """The user with this email, compared case-insensitively.

    Raises UserNotFoundError.
    """
    try:
        return users_with_email(email=email).get()
    except User.DoesNotExist:
        raise UserNotFoundError() from None


def user_get(*, user_id: int) -> User:
    """The user with this id.

    Raises UserNotFoundError.
    """
    try:
        return User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise UserNotFoundError() from None


def user_lock_active(*, user_id: int) -> bool:
    """Whether the account exists and is active, holding its row until the caller's transaction ends.

    Needs an open transaction. FOR KEY SHARE waits for a ban or deletion in progress (they lock the
    row FOR UPDATE) and then reads the committed state, and holds off a later ban until the caller
    commits: a write checked this way is either committed before the ban commits, or refused. It is
    the weakest row lock that does so, and it does not conflict with itself, so one user's writes
    do not queue behind each other (FOR NO KEY UPDATE serialised them: 89 -> 52 REST sends/s).
    Django's ORM has no FOR KEY SHARE, hence the SQL; other databases have no row locks to take.
    """
    if connection.vendor != "postgresql":
        return User.objects.filter(pk=user_id, is_active=True).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM "{User._meta.db_table}" WHERE "id" = %s AND "is_active" FOR KEY SHARE',  # noqa: S608
            [user_id],
        )
        return cursor.fetchone() is not None


def users_lock_active(*, user_ids: list[int]) -> set[int]:
    """Which of `user_ids` are active accounts, holding their rows (FOR KEY SHARE, in id order) until the
    caller's transaction ends.

    For writes that point rows at these users (a new membership): a deletion in progress (FOR UPDATE)
    is waited for and its user then reads as gone, instead of the new row failing its foreign key at
    commit; a later deletion waits for the caller. Lock user rows before chat rows, as sends do.
    """
    if not user_ids:
        return set()
    if connection.vendor != "postgresql":
        return set(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "id" FROM "{User._meta.db_table}" WHERE "id" = ANY(%s) AND "is_active" '  # noqa: S608
            'ORDER BY "id" FOR KEY SHARE',
            [sorted(set(user_ids))],
        )
        return {row[0] for row in cursor.fetchall()}


USER_SEARCH_MIN_LENGTH = 3
USER_SEARCH_LIMIT = 20


def user_search(*, text: str, user: User) -> list[User]:
    """Active users (the caller excluded) whose email equals `text` or whose username starts with it.

    Both comparisons ignore case; a username prefix needs USER_SEARCH_MIN_LENGTH characters, an email
    (anything with an @) does not. At most USER_SEARCH_LIMIT users, by username. The text is not
    trimmed (the OpenAPI schema's minLength is then exactly the rule); the email lookup trims its own.

    Raises SearchTooShortError.
    """
    is_email = "@" in text
    if not is_email and len(text) < USER_SEARCH_MIN_LENGTH:
        raise SearchTooShortError()
    match = Q(username__istartswith=text) if len(text) >= USER_SEARCH_MIN_LENGTH else Q(pk__in=[])
    if is_email:
        match |= Q(pk__in=users_with_email(email=text).values("pk"))
    found = User.objects.filter(match, is_active=True).exclude(pk=user.pk).order_by("username", "pk")
    return list(found[:USER_SEARCH_LIMIT])


def user_get_visible(*, user_id: int, viewer: User) -> User:
    """An active user who shares at least one chat with `viewer` (or is the viewer).

    Raises UserNotFoundError: for a missing user and a stranger alike.
    """
    found = User.objects.filter(pk=user_id, is_active=True)
    if user_id != viewer.pk:
        # Through the reverse relation of chats.ChatMember.user: accounts imports nothing of chats.
        viewer_chats = viewer.chat_memberships.values("chat_id")
        sharing = User.objects.filter(pk=user_id, chat_memberships__chat_id__in=viewer_chats)
        found = found.filter(pk__in=sharing.values("pk"))
    try:
        return found.get()
    except User.DoesNotExist:
        raise UserNotFoundError() from None
