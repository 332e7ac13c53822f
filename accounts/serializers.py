"""Input validation for account endpoints."""

from typing import Any

from rest_framework import serializers


class RegisterSerializer(serializers.Serializer[Any]):
    """POST /api/register body."""

    username = serializers.CharField(min_length=1, max_length=100, trim_whitespace=True)
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class LoginSerializer(serializers.Serializer[Any]):
    """POST /api/login body."""

    email = serializers.CharField(max_length=255)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshTokenSerializer(serializers.Serializer[Any]):
    """POST /api/refresh and /api/logout body."""

    refresh_token = serializers.CharField(max_length=4096)


class UserSerializer(serializers.Serializer[Any]):
    """A user as the API shows it (documentation only; payloads.user_payload builds it)."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()


class TokenPairSerializer(serializers.Serializer[Any]):
    """An access and refresh token (documentation only)."""

    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
