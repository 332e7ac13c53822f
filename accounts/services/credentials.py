"""Account writes of credentials: registration, login, password change."""

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.errors import (
    AccountDisabledError,
    EmailTakenError,
    InvalidAccessTokenError,
    InvalidPasswordError,
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
    session_is_current,
)
from chatproject.errors import InvalidError


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
