"""Input validation for account endpoints."""

from typing import Any

from rest_framework import serializers

from chatproject.fields import StrictCharField


class StrictEmailField(serializers.EmailField):
    """An EmailField that refuses non-strings, so `"email": 5` is a type error, not a bad address."""

    def to_internal_value(self, data: Any) -> str:
        """Accept only a JSON string."""
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


def username_field(**kwargs: Any) -> StrictCharField:
    """The one username rule, for registration and renaming: 1 to 100 characters once trimmed.

    Usernames are display names, not unique (the seed's schema; the login is the email).
    """
    return StrictCharField(min_length=1, max_length=100, trim_whitespace=True, **kwargs)


def new_password_field() -> StrictCharField:
    """A password being set; Django's validators run in the service (they need the user)."""
    # min_length mirrors MinimumLengthValidator (8) so the schema says what a weak password is, in part.
    return StrictCharField(
        min_length=8, max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )


class RegisterSerializer(serializers.Serializer[Any]):
    """POST /api/register body."""

    username = username_field()
    email = StrictEmailField(max_length=255)
    password = new_password_field()


class NoUnknownFieldsSerializer(serializers.Serializer[Any]):
    """A body whose members must all be declared fields: anything else is 400, naming the member."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse members that are not fields (e.g. `email` on PATCH /api/me: it cannot be changed)."""
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["this field cannot be changed"] for name in unknown})
        return attrs


class PasswordChangeSerializer(NoUnknownFieldsSerializer):
    """POST /api/password body."""

    old_password = StrictCharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    new_password = new_password_field()


class MeUpdateSerializer(NoUnknownFieldsSerializer):
    """PATCH /api/me body: only the username may change."""

    username = username_field(required=False)


class LoginSerializer(serializers.Serializer[Any]):
    """POST /api/login body."""

    # Not trimmed here: a blank or whitespace-only email is then a user that is not found (404, as
    # the schema allows), not a 400 the schema cannot express. user_login trims it.
    email = StrictCharField(max_length=255, trim_whitespace=False)
    password = StrictCharField(max_length=128, trim_whitespace=False)


class RefreshTokenSerializer(serializers.Serializer[Any]):
    """POST /api/refresh and /api/logout body."""

    # Not trimmed: a padded or whitespace-only token is simply not a valid token (401).
    refresh_token = StrictCharField(max_length=4096, trim_whitespace=False)


class UserSerializer(serializers.Serializer[Any]):
    """A user as the API shows it (documentation only; payloads.user_payload builds it)."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()


class RefreshTokenBodySerializer(serializers.Serializer[Any]):
    """POST /api/refresh and /api/logout body as documented: the web client's cookie may stand in for it."""

    # Documented as required: that is the contract of every client but the web page, whose cookie
    # (sent with `X-Refresh-Cookie: 1`) stands in for it; a body without it and no cookie is a 400.
    refresh_token = serializers.CharField(
        max_length=4096,
        help_text="The refresh token. The web client sends `X-Refresh-Cookie: 1` and no body instead: its "
        "HttpOnly cookie carries the token.",
    )


class TokenPairSerializer(serializers.Serializer[Any]):
    """An access and refresh token (documentation only)."""

    access_token = serializers.CharField()
    refresh_token = serializers.CharField(
        required=False,
        help_text="Always here, unless the request said `X-Refresh-Cookie: 1`: the refresh token is then "
        "in HttpOnly cookies only, where page scripts cannot read it.",
    )
