"""Account endpoints: thin transports over accounts.services, one module per sub-domain (`auth`: tokens;
`me`: the caller's account; `directory`: other users); their OpenAPI declarations are in accounts.openapi."""

from accounts.views.auth import login, logout, refresh, register
from accounts.views.directory import user_detail, users_search
from accounts.views.me import me, password_change

__all__ = ["login", "logout", "me", "password_change", "refresh", "register", "user_detail", "users_search"]
