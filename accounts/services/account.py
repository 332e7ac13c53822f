"""Account writes of the account itself: rename, ban, unban, deletion (its cross-app steps: actions.users)."""

from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_rename(*, user: User, username: str) -> User:
    """Set the user's display name (the rule is accounts.serializers.username_field; names are not unique)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.username = username
    user.save(update_fields=["username"])
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Ban: deactivate, blacklist every outstanding refresh token, close every socket of the user.

    Access tokens stop working at once because authentication reads `is_active` on each use.
    Broadcasts `account_disabled` to the user's group (sockets close with 4403).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])  # the model's rule ends the sessions (accounts.lifecycle)
    return user


@transaction.atomic
def user_reactivate(*, user: User) -> User:
    """Unban: the user may log in again (old refresh tokens stay revoked)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete an account without rewriting anyone else's history; one transaction.

    The deletion itself does the work, whatever path deletes the user (this service, the admin,
    Model.delete() or QuerySet.delete() in a shell): a pre_delete receiver runs actions.users.user_erase
    first. Deleting a user that is already gone (a concurrent or repeated delete) does nothing.
    """
    User.objects.filter(pk=user.pk).delete()
