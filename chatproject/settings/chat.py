"""The chat's own settings: `CHAT`, read through `chatproject.conf.chat_settings`.

Each is overridden by the environment variable of the same name (MESSAGE_MAX_LENGTH=2000), parsed by the
type `chatproject.conf` declares for it; defaults and their meaning are documented there, and only there.
"""

import os
import re
import types
import typing
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from chatproject.conf import DEFAULTS, RATE_PATTERN, setting_types

from .base import env


def _from_env(name: str, kind: Any) -> Any:
    """The environment's value for `name`, parsed as `kind` (int, float, bool, list[str], or optional)."""
    if isinstance(kind, types.UnionType):  # `list[str] | None`: unset stays None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if typing.get_origin(kind) is list:
        return env.list(name)
    parse = {int: env.int, float: env.float, bool: env.bool, str: env.str}[kind]
    return parse(name)


CHAT: dict[str, Any] = {
    name: _from_env(name, kind) for name, kind in setting_types().items() if name in os.environ
}

_heartbeat = CHAT.get("PRESENCE_HEARTBEAT_SECONDS", DEFAULTS["PRESENCE_HEARTBEAT_SECONDS"])
if not 0 < _heartbeat < CHAT.get("PRESENCE_TTL_SECONDS", DEFAULTS["PRESENCE_TTL_SECONDS"]):
    raise ImproperlyConfigured("PRESENCE_HEARTBEAT_SECONDS must be above 0 and below PRESENCE_TTL_SECONDS.")

# Checked here: a bad value would otherwise surface as a 500 on the first reaction.
_react = CHAT.get("THROTTLE_REACT", DEFAULTS["THROTTLE_REACT"])
if _react and not re.fullmatch(RATE_PATTERN, _react):
    raise ImproperlyConfigured("THROTTLE_REACT must look like 300/min (or be empty for no budget).")
