"""Account writes: registration, tokens, deactivation."""

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.authentication import token_user_id
from accounts.errors import (
    AccountDisabledError,
    EmailTakenError,
    InvalidAccessTokenError,
    InvalidPasswordError,
    InvalidRefreshTokenError,
    TokenNotYoursError,
    UserNotFoundError,
    WrongOldPasswordError,
)
from accounts.models import User
from accounts.selectors import user_get_by_email, users_with_email
from accounts.sessions import (
    GENERATION_CLAIM,
    SESSION_CLAIM,
    Session,
    new_session_id,
    refresh_tokens_revoke,
    session_end,
    session_is_current,
    token_session,
)
from chatproject.errors import InvalidError
from chats.models import Chat, ChatMember
from chats.services import member_remove
from messaging.models import Message, Reaction
from messaging.services import messages_erase_for_deleted_user
from realtime.events import broadcast_on_commit
from realtime.groups import user_group
from realtime.protocol import ServerEvent


@dataclass(frozen=True)
class TokenPair:
    """An access token and the refresh token that renews it."""

    access_token: str
    refresh_token: str


def _issue_tokens(user: User, *, session_id: str | None = None) -> TokenPair:
    """A pair of `session_id`'s chain (a new session without one), at the user's current generation.

    What RefreshToken.for_user does, but with the session claims set before the OutstandingToken row
    records the token's text: a password change reads them back from there. The access token copies them.
    """
    refresh = RefreshToken()
    refresh[jwt_settings.USER_ID_CLAIM] = str(user.pk)
    refresh[SESSION_CLAIM] = session_id or new_session_id()
    refresh[GENERATION_CLAIM] = user.credentials_generation
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[jwt_settings.JTI_CLAIM],
        token=str(refresh),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return TokenPair(access_token=str(refresh.access_token), refresh_token=str(refresh))


def _validate_new_password(password: str, *, user: User, field: str) -> None:
    """Django's password validators, failures as a 400 naming `field`.

    Raises InvalidError.
    """
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        messages = list(exc.messages)
        raise InvalidError(f"{field}: {messages[0]}", fields={field: messages}) from None


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> User:
    """Create an account after Django's password validators accept the password.

    Raises InvalidError (weak password), EmailTakenError.
    """
    email = User.objects.normalize_email(email.strip())
    candidate = User(username=username, email=email)
    _validate_new_password(password, user=candidate, field="password")
    if users_with_email(email=email).exists():
        raise EmailTakenError()
    candidate.password = make_password(password)
    try:
        # A savepoint, so a lost race leaves the outer transaction usable.
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        # Two registrations raced past the exists() check; the unique index decided.
        raise EmailTakenError() from None
    return candidate


@transaction.atomic
def user_login(*, email: str, password: str) -> TokenPair:
    """Check the credentials and issue a token pair (recorded as an OutstandingToken).

    Raises UserNotFoundError, InvalidPasswordError, AccountDisabledError.
    """
    try:
        user = user_get_by_email(email=email.strip())
    except UserNotFoundError:
        # Spend the same hashing time as a real check, so timing says less about which emails exist.
        User().set_password(password)
        raise
    if not user.check_password(password):
        raise InvalidPasswordError()
    if not user.is_active:
        raise AccountDisabledError()
    return _issue_tokens(user)


def token_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate a refresh token: blacklist it and issue a new pair of the same session.

    A token of the session that was already rotated away (or revoked) is reuse: someone else may
    hold a copy of the chain, so the whole session ends (accounts.sessions.session_end: its access
    tokens are refused, its refresh tokens blacklisted, its sockets close with 4410) and the request
    is refused. That ending commits on its own transaction, before the refusal is raised.
    Raises InvalidRefreshTokenError, AccountDisabledError.
    """
    pair = _token_rotate(refresh_token=refresh_token)
    if pair is None:
        raise InvalidRefreshTokenError()
    return pair


@transaction.atomic
def _token_rotate(*, refresh_token: str) -> TokenPair | None:
    """token_refresh's transaction: the new pair, or None when reuse ended the session.

    Locks the user row, then the token's OutstandingToken row: of two concurrent refreshes of one
    token, one rotates it and the other is reuse. A refresh racing user_deactivate (which takes the
    same user lock) either finishes first, so its new token is blacklisted by the ban, or sees the
    user inactive.
    """
    try:
        token = _RefreshIgnoringBlacklist(refresh_token)  # type: ignore[arg-type]
    except TokenError:
        raise InvalidRefreshTokenError() from None
    user_id = token_user_id(token.payload)
    if user_id is None:
        raise InvalidRefreshTokenError()
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise InvalidRefreshTokenError()
    outstanding = (
        OutstandingToken.objects.select_for_update().filter(jti=token.payload[jwt_settings.JTI_CLAIM]).first()
    )
    if outstanding is None:
        raise InvalidRefreshTokenError()
    revoked = BlacklistedToken.objects.filter(token=outstanding).exists()
    if not user.is_active:
        # A revoked token is refused as such; a live one learns why it cannot be used.
        raise InvalidRefreshTokenError() if revoked else AccountDisabledError()
    session = token_session(token.payload)
    if not session_is_current(user=user, session=session):
        raise InvalidRefreshTokenError()
    if revoked:
        if not session.id:
            raise InvalidRefreshTokenError()  # a token from before sessions: nothing more to end
        session_end(user=user, session_id=session.id)
        return None
    BlacklistedToken.objects.create(token=outstanding)
    return _issue_tokens(user, session_id=session.id)


class _RefreshIgnoringBlacklist(RefreshToken):
    """Full signature, expiry and type checks, but a revoked token still parses (reuse detection, and
    logout is idempotent)."""

    def check_blacklist(self) -> None:
        """Skip: the callers decide what a blacklisted token means."""


@transaction.atomic
def token_revoke(*, user: User, refresh_token: str) -> None:
    """Log out: end the refresh token's session (already ended is fine).

    Its refresh tokens are blacklisted and its access tokens refused from now on, its sockets close
    with 4410 once committed (accounts.sessions.session_end); the user's other sessions go on. A
    token issued before sessions existed is blacklisted alone.
    Raises InvalidRefreshTokenError (malformed or expired), TokenNotYoursError.
    """
    try:
        token = _RefreshIgnoringBlacklist(refresh_token)  # type: ignore[arg-type]
    except TokenError:
        raise InvalidRefreshTokenError() from None
    if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise TokenNotYoursError()
    outstanding = OutstandingToken.objects.filter(jti=token.payload[jwt_settings.JTI_CLAIM]).first()
    if outstanding is None:
        raise InvalidRefreshTokenError()
    BlacklistedToken.objects.get_or_create(token=outstanding)
    session = token_session(token.payload)
    if not session.id:
        return
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is not None and session.id not in locked.ended_sessions:
        session_end(user=locked, session_id=session.id)


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str, session: Session) -> None:
    """Change the password and end every other login session of the user; `session` (the caller's) stays.

    Locks the user row (a concurrent refresh, ban or second change waits), checks the old password and
    the validators, and saves the new password through User.change_password: the model's rule
    (accounts.lifecycle) moves the credentials generation on, records `session` as the one that stays
    valid, blacklists the refresh tokens of every other session and, once committed, broadcasts
    `sessions_revoked`: the user's sockets of other sessions close with 4410. A caller whose token has
    no session (issued before sessions existed) keeps nothing, its own socket and tokens included.
    Raises InvalidAccessTokenError (another session's change ended this one meanwhile),
    WrongOldPasswordError, InvalidError (a new password the validators refuse).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if not session_is_current(user=user, session=session):
        raise InvalidAccessTokenError()  # a change by another session committed while this one waited
    if not user.check_password(old_password):
        raise WrongOldPasswordError()
    _validate_new_password(new_password, user=user, field="new_password")
    user.change_password(new_password, keep_session=session.id)
    user.save(update_fields=["password"])


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
    Model.delete() or QuerySet.delete() in a shell): a pre_delete receiver (accounts.lifecycle) runs
    user_erase first. Deleting a user that is already gone (a concurrent or repeated delete) does nothing.
    """
    User.objects.filter(pk=user.pk).delete()


def user_erase(*, user: User) -> None:
    """Everything a deletion of `user` does before the row goes; in the deleting transaction.

    Locks the user row (FOR UPDATE: writes of the user in flight commit first, later ones are
    refused), then: every message of the user becomes a tombstone with `sender_id` null, its seq kept
    (messaging.services.messages_erase_for_deleted_user); their reactions are taken back; they leave
    every group chat as if they had left (ownership is handed over, `member_removed` broadcast);
    their refresh tokens are blacklisted. The row's deletion then cascades to their remaining private
    chat memberships, unsent uploads (files once committed) and WebSocket tickets. Private chats stay,
    with the other member and the tombstones. Access tokens stop at once (the user is gone), and
    `account_disabled` closes every open socket of the user with 4403 once committed. A user already
    gone is left alone.
    """
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        return
    user = locked
    # Every chat this touches, locked up front in id order: the steps below lock them again in their
    # own order, and two deletions locking overlapping chats in different orders could deadlock.
    touched = (
        set(ChatMember.objects.filter(user=user).values_list("chat_id", flat=True))
        | set(Message.objects.filter(sender=user).values_list("chat_id", flat=True))
        | set(Reaction.objects.filter(user=user).values_list("message__chat_id", flat=True))
    )
    list(Chat.objects.select_for_update().filter(pk__in=touched).order_by("pk").values_list("pk", flat=True))
    messages_erase_for_deleted_user(user=user)
    groups = ChatMember.objects.filter(user=user, chat__type=Chat.Type.GROUP)
    for chat_id in sorted(groups.values_list("chat_id", flat=True)):
        member_remove(chat_id=chat_id, actor=user, user_id=user.pk)
    refresh_tokens_revoke(user)
    broadcast_on_commit(user_group(user.pk), ServerEvent.ACCOUNT_DISABLED, {"user_id": user.pk})
