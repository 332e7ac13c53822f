"""The check `install()` runs first: every library internal the patches lean on is there, and every
patched library is in the release series the patches were tested with.

Without it an upgrade fails in silence: if Twisted renamed `_tempDataLen`, `unsent_bytes` would read 0
and backpressure would be off with no error anywhere. The package's docstring says why each name is
used; tests/test_server_patches.py keeps that table and `INTERNALS` the same list.
"""

import importlib
import inspect
import re
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

# The minor series each patched library was tested in: requirements.in pins one release of each, and a
# patch release keeps the internals of its series (Django's and Twisted's own policy; autobahn's and
# channels-redis's changelogs have touched these names only in minor releases). A new series is
# untested until its table rows are checked again and this table names it.
TESTED_SERIES: dict[str, tuple[int, int]] = {
    "Django": (5, 2),
    "daphne": (4, 2),
    "Twisted": (26, 10),
    "autobahn": (26, 10),
    "channels-redis": (4, 3),
}


@dataclass(frozen=True)
class Internal:
    """One name a patch reads, calls, replaces or overrides in a library: `owner` is a module or class."""

    library: str
    owner: str
    name: str


def _internals(library: str, owner: str, *names: str) -> list[Internal]:
    return [Internal(library, owner, name) for name in names]


INTERNALS: tuple[Internal, ...] = (
    *_internals("Twisted", "twisted.web.http.HTTPChannel", "_respondToBadRequestAndDisconnect", "_path"),
    *_internals(
        "Twisted",
        "twisted.web.http.Request",
        "_parsePOSTFormSubmission",
        "gotLength",
        "handleContentChunk",
        "requestReceived",
    ),
    *_internals(
        "Twisted",
        "twisted.internet.abstract.FileDescriptor",
        "dataBuffer",
        "offset",
        "_tempDataBuffer",
        "_tempDataLen",
    ),
    *_internals("Twisted", "twisted.internet.tcp.Connection", "writeSomeData", "TLS"),
    *_internals(
        "daphne",
        "daphne.server.Server",
        "handle_reply",
        "create_application",
        "listen_success",
        "kill_all_applications",
        "connections",
    ),
    *_internals("daphne", "daphne.http_protocol.WebRequest", "basic_error", "client_addr"),
    *_internals("daphne", "daphne.ws_protocol.WebSocketProtocol", "client_addr"),
    *_internals("daphne", "daphne.ws_protocol.WebSocketFactory", "setProtocolOptions"),
    *_internals(
        "autobahn",
        "autobahn.websocket.protocol.WebSocketProtocol",
        "sendClose",
        "sendCloseFrame",
        "send_queue",
        "_perMessageCompress",
        "trafficStats",
    ),
    *_internals(
        "autobahn",
        "autobahn.websocket.protocol.TrafficStats",
        "incomingWebSocketMessages",
        "outgoingOctetsWireLevel",
    ),
    *_internals("autobahn", "autobahn.websocket.protocol.PreparedMessage", "payloadHybi"),
    *_internals("autobahn", "autobahn.websocket.protocol", "pformat", "hltype", "hlval"),
    *_internals("autobahn", "autobahn.websocket.protocol.Timings", "_timings"),
    *_internals("autobahn", "autobahn.twisted.websocket", "hltype", "hlval"),
    *_internals("channels-redis", "channels_redis.pubsub", "RedisSingleShardConnection", "_wrap_close"),
    *_internals(
        "channels-redis",
        "channels_redis.pubsub.RedisSingleShardConnection",
        "_receive_message",
        "host",
        "channel_layer",
    ),
    *_internals(
        "channels-redis",
        "channels_redis.pubsub.RedisPubSubLoopLayer",
        "_shards",
        "channels",
        "groups",
        "_get_group_channel_name",
        "group_add",
        "channel_layer",
    ),
    *_internals(
        "channels-redis",
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "_get_layer",
        "_layers",
        "_args",
        "_kwargs",
    ),
    *_internals(
        "Django", "django.core.cache.backends.redis.RedisCache", "_cache", "_servers", "_options", "_class"
    ),
)


class UntestedServerError(RuntimeError):
    """The installed server stack is not one the patches of chatproject.server were tested with."""


def problems() -> list[str]:
    """Every tested library out of its series, and every internal missing, one line each."""
    found = []
    for library, series in TESTED_SERIES.items():
        try:
            installed = version(library)
        except PackageNotFoundError:
            found.append(f"{library} is not installed (tested: {series[0]}.{series[1]}.x)")
            continue
        if _series(installed) != series:
            found.append(
                f"{library} {installed} is outside the tested {series[0]}.{series[1]}.x series "
                "(chatproject.server.check.TESTED_SERIES)"
            )
    for internal in INTERNALS:
        try:
            owner = _resolve(internal.owner)
        except (ImportError, AttributeError):
            found.append(f"{internal.library}: {internal.owner} is gone (needed for `{internal.name}`)")
            continue
        if not _has(owner, internal.name):
            found.append(f"{internal.library}: {internal.owner} has no `{internal.name}`")
    return found


def verify() -> None:
    """Raise UntestedServerError naming each library and internal at fault; nothing when all hold."""
    found = problems()
    if found:
        lines = "\n".join(f"- {problem}" for problem in found)
        raise UntestedServerError(
            "the server patches (chatproject.server) do not fit the installed libraries; see the table "
            f"in chatproject/server/__init__.py before changing a pin:\n{lines}"
        )


def _series(installed: str) -> tuple[int, ...]:
    """The (major, minor) of a version string ("26.10.0" -> (26, 10); "5.2rc1" -> (5, 2))."""
    parts = []
    for part in installed.split(".")[:2]:
        digits = re.match(r"\d+", part)
        parts.append(int(digits.group()) if digits else -1)
    return tuple(parts)


def _resolve(dotted: str) -> ModuleType | type:
    """The module, or the class inside a module, a dotted path names."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            if split == 1:
                raise
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        return found  # type: ignore[no-any-return]
    raise ImportError(dotted)  # pragma: no cover - the loop returns or raises


def _has(owner: ModuleType | type, name: str) -> bool:
    """Whether `owner` has `name`: as an attribute, or (a class) as one its instances are given in its
    own source or its bases' (`self.name = ...`), which only an instance would show."""
    if hasattr(owner, name):
        return True
    if not inspect.isclass(owner):
        return False
    assigned = re.compile(rf"\bself\.{re.escape(name)}\s*(?::[^=\n]+)?=(?!=)")
    return any(assigned.search(_source(cls)) for cls in owner.__mro__ if cls is not object)


@cache
def _source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):  # pragma: no cover - a class without source (compiled)
        return ""
