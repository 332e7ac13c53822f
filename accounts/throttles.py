"""Per-client-address throttles for the auth endpoints."""

import logging
from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from chatproject.errors import REDIS_ERRORS, RedisUnavailableError

logger = logging.getLogger(__name__)


class ClientAddressThrottle(SimpleRateThrottle):
    """Limit one scope per client address, reading the rate at call time so settings changes apply at once.

    Counters live in the default cache: Redis when REDIS_URL is set, so limits hold across processes.
    """

    def get_rate(self) -> str | None:
        """The configured rate for this scope."""
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)

    def get_ident(self, request: Request) -> str:
        """The client address: REMOTE_ADDR, or the NUM_PROXIES-th address from the right of X-Forwarded-For.

        DRF trusts the whole client-supplied X-Forwarded-For when NUM_PROXIES is unset, which lets
        anyone dodge the limit by inventing a header; here unset means "no proxy".
        """
        num_proxies = api_settings.NUM_PROXIES or 0
        remote_addr: str = request.META.get("REMOTE_ADDR", "")
        xff = request.META.get("HTTP_X_FORWARDED_FOR")
        if num_proxies <= 0 or not xff:
            return remote_addr
        addrs = [part.strip() for part in xff.split(",")]
        return addrs[-min(num_proxies, len(addrs))]

    def get_cache_key(self, request: Request, view: Any) -> str:
        """One counter per scope and client address."""
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Request, view: APIView) -> bool:
        """SimpleRateThrottle's check; a cache outage is a 503, not a 500 (and never an open door).

        Raises RedisUnavailableError.
        """
        try:
            return super().allow_request(request, view)
        except REDIS_ERRORS as exc:
            logger.warning("throttle cache unavailable: %s", exc)
            raise RedisUnavailableError() from exc


class RegisterThrottle(ClientAddressThrottle):
    """POST /api/register."""

    scope = "register"


class LoginThrottle(ClientAddressThrottle):
    """POST /api/login."""

    scope = "login"


class RefreshThrottle(ClientAddressThrottle):
    """POST /api/refresh."""

    scope = "refresh"


class UserSearchThrottle(ClientAddressThrottle):
    """GET /api/users, per user (THROTTLE_USER_SEARCH): the directory must not be walkable in bulk."""

    scope = "user_search"

    def get_cache_key(self, request: Request, view: Any) -> str:
        """One counter per user (authentication runs before throttles, so there is one)."""
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}


class PasswordChangeThrottle(ClientAddressThrottle):
    """POST /api/password, per user (THROTTLE_PASSWORD): a stolen access token cannot try old passwords fast."""

    scope = "password"

    def get_cache_key(self, request: Request, view: Any) -> str:
        """One counter per user (authentication runs before throttles, so there is one)."""
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}
