"""Register, login, refresh, logout: tokens in the JSON body, or the web client's refresh cookie."""

from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import cookies, services
from accounts.authentication import authenticated_user
from accounts.errors import AccountDisabledError, InvalidRefreshTokenError
from accounts.openapi import login_schema, logout_schema, refresh_schema, register_schema
from accounts.payloads import user_payload
from accounts.serializers import LoginSerializer, RefreshTokenSerializer, RegisterSerializer
from accounts.throttles import LoginThrottle, RefreshThrottle, RegisterThrottle
from chatproject.errors import DomainError


def _tokens(pair: services.TokenPair) -> dict[str, str]:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token}


def _tokens_response(request: Request, pair: services.TokenPair, *, as_cookie: bool) -> Response:
    """The seed's {access_token, refresh_token}; for the web client, the refresh token in its cookies."""
    if not as_cookie:
        return Response(_tokens(pair))
    response = Response({"access_token": pair.access_token})
    cookies.set_refresh_cookies(response, request, pair.refresh_token)
    return response


def _cookie_refused(error: DomainError) -> Response:
    """`error`'s answer, clearing the cookie that held a token the server no longer honours."""
    response = Response(error.as_dict(), status=error.status_code, headers=error.headers)
    cookies.clear_refresh_cookies(response)
    return response


@register_schema
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([RegisterThrottle])
def register(request: Request) -> Response:
    """Create an account: 201 {id, username, email}."""
    data = RegisterSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    user = services.user_register(**data.validated_data)
    return Response(user_payload(user), status=status.HTTP_201_CREATED)


@login_schema
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([LoginThrottle])
def login(request: Request) -> Response:
    """Exchange email and password for {access_token, refresh_token} (the web client's refresh token in cookies).

    Raises CrossSiteCookieError.
    """
    as_cookie = cookies.cookie_requested(request)
    data = LoginSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return _tokens_response(request, services.user_login(**data.validated_data), as_cookie=as_cookie)


@refresh_schema
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([RefreshThrottle])
def refresh(request: Request) -> Response:
    """Rotate a refresh token (the body's, or the web client's cookie): the old one is blacklisted, a new pair returned.

    Raises CrossSiteCookieError, InvalidRefreshTokenError, AccountDisabledError.
    """
    raw, from_cookie = cookies.refresh_token_input(request, cookie=cookies.REFRESH_COOKIE)
    as_cookie = from_cookie or cookies.cookie_requested(request)
    data = RefreshTokenSerializer(data=raw)
    data.is_valid(raise_exception=True)
    try:
        pair = services.token_refresh(**data.validated_data)
    except (InvalidRefreshTokenError, AccountDisabledError) as error:
        if not from_cookie:
            raise
        return _cookie_refused(error)
    return _tokens_response(request, pair, as_cookie=as_cookie)


@logout_schema
@api_view(["POST"])
def logout(request: Request) -> Response:
    """Revoke one of the caller's refresh tokens (the body's, or the web client's cookie, then cleared).

    Raises CrossSiteCookieError, InvalidRefreshTokenError, TokenNotYoursError.
    """
    raw, from_cookie = cookies.refresh_token_input(request, cookie=cookies.LOGOUT_COOKIE)
    as_cookie = from_cookie or cookies.cookie_requested(request)
    data = RefreshTokenSerializer(data=raw)
    data.is_valid(raise_exception=True)
    user = authenticated_user(request)
    try:
        services.token_revoke(user=user, **data.validated_data)
    except InvalidRefreshTokenError as error:
        if not from_cookie:
            raise
        return _cookie_refused(error)
    response = Response(status=status.HTTP_204_NO_CONTENT)
    if as_cookie:
        cookies.clear_refresh_cookies(response)
    return response
