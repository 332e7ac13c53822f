"""Account reads."""

from django.db.models import QuerySet, Value
from django.db.models.functions import Lower

from accounts.errors import UserNotFoundError
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


def user_is_active(*, user_id: int) -> bool:
    """Whether the account exists and is active, read from the database now (not from a cached User)."""
    return User.objects.filter(pk=user_id, is_active=True).exists()


def user_lock_active(*, user_id: int) -> bool:
    """Whether the account exists and is active, holding its row until the caller's transaction ends.

    Needs an open transaction. FOR NO KEY UPDATE waits for a ban or deletion in progress (they lock the
    row FOR UPDATE) and then reads the committed state, and holds off a later ban until the caller
    commits: a write checked this way is either committed before the ban commits, or refused.
    """
    return User.objects.select_for_update(no_key=True).filter(pk=user_id, is_active=True).exists()
