"""Per-client-address throttles for the auth endpoints."""

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ClientAddressThrottle(SimpleRateThrottle):
    """Limit one scope per client address, reading the rate at call time so settings changes apply at once.

    Counters live in the default cache: Redis when REDIS_URL is set, so limits hold across processes.
    """

    def get_rate(self) -> str | None:
        """The configured rate for this scope."""
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[no-any-return]

    def get_cache_key(self, request: Request, view: Any) -> str:
        """One counter per scope and client address."""
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class RegisterThrottle(ClientAddressThrottle):
    """POST /api/register."""

    scope = "register"


class LoginThrottle(ClientAddressThrottle):
    """POST /api/login."""

    scope = "login"


class RefreshThrottle(ClientAddressThrottle):
    """POST /api/refresh."""

    scope = "refresh"
