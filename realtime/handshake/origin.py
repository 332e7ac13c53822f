"""Origin check against cross-site WebSocket hijacking."""

from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings

from chatproject.conf import chat_settings


class BrowserOriginValidator(OriginValidator):
    """Refuse a handshake whose Origin is not allowed; allow one without Origin.

    Browsers always send Origin, so this closes hijacking from other sites; native apps send none,
    and they must still present a token, which a hostile page cannot read.
    """

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        """True when Origin is absent or matches WS_ALLOWED_ORIGINS or CORS_ALLOWED_ORIGINS."""
        if parsed_origin is None:
            return True
        # Read at call time, so the settings can change without rebuilding the application.
        self.allowed_origins = allowed_origins()
        return bool(self.validate_origin(parsed_origin))


def allowed_origins() -> list[str]:
    """WS_ALLOWED_ORIGINS (ALLOWED_HOSTS when unset), then CORS_ALLOWED_ORIGINS: a page allowed to call the
    API may open the socket."""
    own = chat_settings.WS_ALLOWED_ORIGINS
    return [*(settings.ALLOWED_HOSTS if own is None else own), *settings.CORS_ALLOWED_ORIGINS]


def origin_checked(app: Any) -> BrowserOriginValidator:
    """Wrap `app` with the origin check, patterns from WS_ALLOWED_ORIGINS and CORS_ALLOWED_ORIGINS."""
    return BrowserOriginValidator(app, allowed_origins())
