"""The web client's refresh token in HttpOnly cookies: asked for, read (from this origin only), set, cleared.

A browser page opts in with `X-Refresh-Cookie: 1` on login, refresh and logout. The refresh token then
travels only in cookies that page scripts cannot read, so an injected script cannot take a 7-day token
away; the JSON body carries the access token alone. Clients that do not opt in keep the seed's body tokens.

CSRF: the cookies are `SameSite=Strict`, so no other site's page makes the browser send them; and a
cookie is honoured only with the `X-Refresh-Cookie: 1` header and, when the browser names one, an
`Origin` of this server. A custom header cannot cross origins without a CORS preflight, which this API
never grants for it (nor credentials), so a sibling subdomain that SameSite counts as the same site is
refused too.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpResponseBase
from django.urls import reverse
from rest_framework.request import Request
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.errors import CrossSiteCookieError, InvalidRefreshTokenError

OPT_IN_HEADER = "X-Refresh-Cookie"
# A cookie has one Path, and no other /api/ request should carry the token: one cookie per endpoint
# that reads it, both holding the same (current) refresh token.
REFRESH_COOKIE = "refresh_token"
LOGOUT_COOKIE = "logout_token"
_COOKIE_ROUTES = ((REFRESH_COOKIE, "refresh"), (LOGOUT_COOKIE, "logout"))


def cookie_requested(request: Request) -> bool:
    """Whether the caller opted in to the cookie (`X-Refresh-Cookie: 1`); from this origin only.

    Raises CrossSiteCookieError when it asks from another origin.
    """
    if request.headers.get(OPT_IN_HEADER) != "1":
        return False
    _check_origin(request)
    return True


def refresh_token_input(request: Request, *, cookie: str) -> tuple[Any, bool]:
    """The data holding the refresh token, and whether it came from `cookie` rather than the body.

    The body wins when it names `refresh_token` (today's contract, unchanged). Otherwise a cookie, or an
    opt-in without one, makes this a cookie call, which must come from this origin with the header.
    Raises CrossSiteCookieError, InvalidRefreshTokenError (opted in but no cookie: not logged in).
    """
    data = request.data  # a malformed body is the seed's 400 "invalid json" here too
    if not isinstance(data, Mapping) or "refresh_token" in data:
        return data, False
    token = request.COOKIES.get(cookie)
    opted_in = request.headers.get(OPT_IN_HEADER) == "1"
    if token is None and not opted_in:
        return data, False  # the serializer answers 400 "refresh_token: This field is required."
    if not opted_in:
        raise CrossSiteCookieError()
    _check_origin(request)
    if not token:
        raise InvalidRefreshTokenError()
    return {"refresh_token": token}, True


def set_refresh_cookies(response: HttpResponseBase, request: Request, refresh_token: str) -> None:
    """Put the refresh token in its HttpOnly cookies, one scoped to each endpoint that reads it."""
    for name, route in _COOKIE_ROUTES:
        response.set_cookie(
            name,
            refresh_token,
            max_age=jwt_settings.REFRESH_TOKEN_LIFETIME,
            path=reverse(route),
            secure=request.is_secure(),
            httponly=True,
            samesite="Strict",
        )


def clear_refresh_cookies(response: HttpResponseBase) -> None:
    """Expire the refresh token's cookies (logout, or a token the server no longer honours)."""
    for name, route in _COOKIE_ROUTES:
        response.delete_cookie(name, path=reverse(route), samesite="Strict")


def _check_origin(request: Request) -> None:
    """Refuse an `Origin` other than this server's (or CSRF_TRUSTED_ORIGINS, as Django's CSRF check does).

    No Origin is allowed: browsers send one on every fetch POST, so its absence means no browser.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return
    own = f"{request.scheme}://{request.get_host()}"
    if origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS:
        raise CrossSiteCookieError()
