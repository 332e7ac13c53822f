"""Account writes, one module per sub-domain: `credentials` (registration, login, password change),
`tokens` (refresh rotation and logout), `account` (rename, ban, deletion). The names below are the
public services, re-exported so that `from accounts import services; services.user_login(...)` stays
the one call shape."""

from accounts.services.account import user_deactivate, user_delete, user_reactivate, user_rename
from accounts.services.credentials import TokenPair, user_login, user_password_change, user_register
from accounts.services.tokens import token_refresh, token_revoke

__all__ = [
    "TokenPair",
    "token_refresh",
    "token_revoke",
    "user_deactivate",
    "user_delete",
    "user_login",
    "user_password_change",
    "user_reactivate",
    "user_register",
    "user_rename",
]
