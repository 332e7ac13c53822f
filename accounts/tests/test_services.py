"""accounts.services and accounts.selectors against PostgreSQL."""

import pytest
from django.db import connection, transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import selectors, services
from accounts.errors import (
    AccountDisabledError,
    EmailTakenError,
    InvalidPasswordError,
    InvalidRefreshTokenError,
    TokenNotYoursError,
    UserNotFoundError,
)
from accounts.models import User
from accounts.services import credentials
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from chatproject.errors import InvalidError

pytestmark = pytest.mark.django_db


def is_blacklisted(raw: str) -> bool:
    jti = RefreshToken(raw, verify=False)["jti"]
    return BlacklistedToken.objects.filter(token__jti=jti).exists()


# --- user_register ----------------------------------------------------------------------------


def test_user_register_lowercases_domain_and_keeps_local_part():
    user = services.user_register(username="ivan", email=" Ivan@Example.COM ", password=DEFAULT_PASSWORD)

    assert user.email == "Ivan@example.com"


def test_user_register_hashes_password_with_bcrypt():
    user = services.user_register(username="ivan", email="ivan@example.com", password=DEFAULT_PASSWORD)

    assert user.password.startswith("bcrypt_sha256$")
    assert "$10$" in user.password


def test_user_register_raises_email_taken_when_email_exists_in_other_case():
    UserFactory(email="ivan@example.com")

    with pytest.raises(EmailTakenError):
        services.user_register(username="ivan", email="IVAN@EXAMPLE.COM", password=DEFAULT_PASSWORD)


def test_user_register_raises_email_taken_when_unique_index_catches_a_race(monkeypatch):
    # Simulate losing the race: the existence check saw nothing, the row is there by insert time.
    UserFactory(email="ivan@example.com")
    monkeypatch.setattr(credentials, "users_with_email", lambda *, email: User.objects.none())

    with pytest.raises(EmailTakenError):
        services.user_register(username="ivan", email="Ivan@example.com", password=DEFAULT_PASSWORD)
    assert User.objects.count() == 1


def test_user_register_leaves_outer_transaction_usable_after_lost_race(monkeypatch):
    UserFactory(email="ivan@example.com")
    monkeypatch.setattr(credentials, "users_with_email", lambda *, email: User.objects.none())

    with transaction.atomic():
        with pytest.raises(EmailTakenError):
            services.user_register(username="ivan", email="IVAN@example.com", password=DEFAULT_PASSWORD)
        assert User.objects.count() == 1


def test_user_register_raises_invalid_when_password_similar_to_email():
    with pytest.raises(InvalidError) as caught:
        services.user_register(username="ivan", email="ivanivanov@example.com", password="ivanivanov")

    assert caught.value.fields is not None
    assert caught.value.fields["password"]


def test_unique_index_rejects_email_differing_only_in_case():
    from django.db import IntegrityError

    UserFactory(email="ivan@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="x", email="IVAN@example.com")


def test_user_get_by_email_uses_the_lower_email_index():
    UserFactory(email="ivan@example.com")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")

    plan = selectors.users_with_email(email="IVAN@example.com").explain()

    assert "accounts_user_email_ci_unique" in plan


def test_user_get_by_email_raises_not_found():
    with pytest.raises(UserNotFoundError):
        selectors.user_get_by_email(email="nobody@example.com")


# --- user_login -------------------------------------------------------------------------------


def test_user_login_records_outstanding_refresh_token(user):
    pair = services.user_login(email=user.email, password=DEFAULT_PASSWORD)

    jti = RefreshToken(pair.refresh_token)["jti"]
    assert OutstandingToken.objects.filter(jti=jti, user=user).exists()


def test_user_login_raises_not_found_for_unknown_email():
    with pytest.raises(UserNotFoundError):
        services.user_login(email="nobody@example.com", password=DEFAULT_PASSWORD)


def test_user_login_raises_invalid_password(user):
    with pytest.raises(InvalidPasswordError):
        services.user_login(email=user.email, password="nope")


def test_user_login_raises_account_disabled_for_inactive_user():
    user = UserFactory(is_active=False)

    with pytest.raises(AccountDisabledError):
        services.user_login(email=user.email, password=DEFAULT_PASSWORD)


# --- token_refresh / token_revoke -------------------------------------------------------------


def test_token_refresh_blacklists_old_and_records_new(user):
    old = str(RefreshToken.for_user(user))

    pair = services.token_refresh(refresh_token=old)

    assert is_blacklisted(old)
    assert not is_blacklisted(pair.refresh_token)
    assert OutstandingToken.objects.filter(jti=RefreshToken(pair.refresh_token)["jti"]).exists()


def test_token_refresh_raises_invalid_when_reused(user):
    old = str(RefreshToken.for_user(user))
    services.token_refresh(refresh_token=old)

    with pytest.raises(InvalidRefreshTokenError):
        services.token_refresh(refresh_token=old)


def test_token_refresh_raises_invalid_for_access_token(user):
    access = str(RefreshToken.for_user(user).access_token)

    with pytest.raises(InvalidRefreshTokenError):
        services.token_refresh(refresh_token=access)


def test_token_refresh_raises_invalid_when_token_never_recorded(user):
    # Validly signed, but not issued through for_user (no OutstandingToken row).
    token = RefreshToken()
    token["user_id"] = str(user.pk)

    with pytest.raises(InvalidRefreshTokenError):
        services.token_refresh(refresh_token=str(token))


def test_token_refresh_raises_account_disabled_and_keeps_token_when_user_inactive(user):
    raw = str(RefreshToken.for_user(user))
    User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(AccountDisabledError):
        services.token_refresh(refresh_token=raw)
    assert not is_blacklisted(raw)


def test_token_revoke_blacklists_token(user):
    raw = str(RefreshToken.for_user(user))

    services.token_revoke(user=user, refresh_token=raw)

    assert is_blacklisted(raw)


def test_token_revoke_is_idempotent(user):
    raw = str(RefreshToken.for_user(user))
    services.token_revoke(user=user, refresh_token=raw)

    services.token_revoke(user=user, refresh_token=raw)

    assert BlacklistedToken.objects.count() == 1


def test_token_revoke_raises_not_yours_for_other_users_token(user):
    raw = str(RefreshToken.for_user(UserFactory()))

    with pytest.raises(TokenNotYoursError):
        services.token_revoke(user=user, refresh_token=raw)
    assert not is_blacklisted(raw)


# --- user_deactivate / user_reactivate --------------------------------------------------------


def test_user_deactivate_marks_inactive_and_blacklists_every_refresh_token(user):
    tokens = [str(RefreshToken.for_user(user)) for _ in range(3)]

    services.user_deactivate(user=user)

    user.refresh_from_db()
    assert user.is_active is False
    assert all(is_blacklisted(raw) for raw in tokens)


def test_user_deactivate_leaves_other_users_tokens_alone(user):
    other_token = str(RefreshToken.for_user(UserFactory()))

    services.user_deactivate(user=user)

    assert not is_blacklisted(other_token)


def test_user_deactivate_broadcasts_account_disabled_after_commit(chat_events):
    user = UserFactory()

    services.user_deactivate(user=user)

    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (f"user.{user.pk}", "account_disabled", {"user_id": user.pk})
    ]


def test_user_deactivate_broadcasts_nothing_when_rolled_back(chat_events):
    user = UserFactory()

    def deactivate_then_fail() -> None:
        with transaction.atomic():
            services.user_deactivate(user=user)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        deactivate_then_fail()

    assert chat_events == []
    user.refresh_from_db()
    assert user.is_active is True


def test_user_reactivate_allows_login_but_keeps_old_tokens_revoked(user):
    old = str(RefreshToken.for_user(user))
    services.user_deactivate(user=user)

    services.user_reactivate(user=user)

    assert services.user_login(email=user.email, password=DEFAULT_PASSWORD).access_token
    with pytest.raises(InvalidRefreshTokenError):
        services.token_refresh(refresh_token=old)
