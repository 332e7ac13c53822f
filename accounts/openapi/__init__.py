"""OpenAPI declarations of the account endpoints, one module per sub-domain of accounts.views (`auth`, `me`,
`directory`), applied to the views as decorators; their shared pieces in `examples`."""

from accounts.openapi.auth import login_schema, logout_schema, refresh_schema, register_schema
from accounts.openapi.directory import users_retrieve_schema, users_search_schema
from accounts.openapi.me import me_schema, me_update_schema, password_change_schema

__all__ = [
    "login_schema",
    "logout_schema",
    "me_schema",
    "me_update_schema",
    "password_change_schema",
    "refresh_schema",
    "register_schema",
    "users_retrieve_schema",
    "users_search_schema",
]
