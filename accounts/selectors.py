"""Account reads."""

from accounts.errors import UserNotFoundError
from accounts.models import User


def user_get_by_email(*, email: str) -> User:
    """The user with this email, compared case-insensitively.

    Raises UserNotFoundError.
    """
    try:
        return User.objects.get(email__iexact=email.strip())
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
