"""The catalogue of every error `code` the API and the socket answer with: the OpenAPI enum and README's table.

Derived, not copied: each DomainError subclass of the apps' `errors` modules brings its code, status and
the first line of its docstring; `OTHER_CODES` adds the codes no DomainError carries (DRF's own
exceptions, the socket's frame errors, Daphne's fallback) and statuses a code also has elsewhere.
tests/test_error_codes.py checks that every code written in the source is here, and that README agrees.
"""

import importlib
from dataclasses import dataclass
from functools import cache

from django.apps import apps

from chatproject.errors import DomainError

WS = "WS"  # an error frame on the socket, which stays open


@dataclass(frozen=True)
class ErrorCode:
    """One code: where it is answered (HTTP statuses, or WS for a socket error frame) and what it means."""

    code: str
    statuses: tuple[int | str, ...]
    meaning: str


# DRF's own exceptions keep DRF's codes (chatproject.api), so no class of ours names them.
DRF_CODES = frozenset(
    {"method_not_allowed", "not_acceptable", "unsupported_media_type", "bad_authorization_header"}
)

OTHER_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("not_acceptable", (406,), "The `Accept` header allows no JSON answer (DRF)."),
    ErrorCode(
        "method_not_allowed", (405,), "The path does not take this method; `Allow` lists those it takes."
    ),
    ErrorCode(
        "unsupported_media_type", (415,), "The body is not JSON (or multipart where a file is uploaded)."
    ),
    ErrorCode(
        "bad_authorization_header",
        (401,),
        "The `Authorization` header is not `Bearer <token>` (simplejwt's words).",
    ),
    ErrorCode("account_disabled", (401,), "An access token of a deactivated account."),
    ErrorCode(
        "invalid_token", (WS,), "An `auth` frame's token is not a valid access token of this socket's user."
    ),
    ErrorCode("invalid_format", (WS,), "A frame that is not a JSON object with a string `type`."),
    ErrorCode("unknown_type", (WS,), "A frame `type` the server does not know."),
    ErrorCode("invalid_payload", (WS,), "A frame's `payload` is missing or its fields are wrong."),
    ErrorCode("rate_limited", (WS,), "More frames than the socket's rates, or the send budget spent."),
    ErrorCode("service_unavailable", (WS,), "The database is unreachable while a command ran."),
    ErrorCode(
        "server_busy",
        (WS,),
        "A handshake past WS_MAX_HANDSHAKES_IN_PROGRESS: sent before the 1013 close, with `retry_after`.",
    ),
    ErrorCode("not_chat_member", (WS,), "A `typing` or `resume` for a chat the socket does not follow."),
    ErrorCode(
        "error",
        ("other",),
        "Daphne's own answer with a status none of ours covers (none today: its 400, 500 and 503 have theirs).",
    ),
)


def _domain_errors() -> list[type[DomainError]]:
    """Every subclass of DomainError defined in the project's apps, base kinds first."""
    for config in apps.get_app_configs():
        try:
            importlib.import_module(f"{config.name}.errors")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.errors":
                raise
    found: list[type[DomainError]] = []
    # The base's own code ("invalid") is InvalidError's too, whose docstring says what it means.
    pending: list[type[DomainError]] = DomainError.__subclasses__()
    while pending:
        cls = pending.pop(0)
        if ".tests" in cls.__module__ or cls in found:
            continue
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _meaning(cls: type[DomainError]) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0]


@cache
def error_codes() -> dict[str, ErrorCode]:
    """Every code, sorted, with its statuses (HTTP ones first) and meaning (the first place that defines it)."""
    statuses: dict[str, list[int | str]] = {}
    meanings: dict[str, str] = {}
    entries = [ErrorCode(cls.code, (cls.status_code,), _meaning(cls)) for cls in _domain_errors()]
    for entry in [*entries, *OTHER_CODES]:
        meanings.setdefault(entry.code, entry.meaning)
        known = statuses.setdefault(entry.code, [])
        known.extend(status for status in entry.statuses if status not in known)
    return {
        code: ErrorCode(
            code, tuple(sorted(statuses[code], key=lambda s: (isinstance(s, str), str(s)))), meanings[code]
        )
        for code in sorted(statuses)
    }


def catalogue_markdown() -> str:
    """README's table of error codes, one row per code."""
    rows = ["| code | HTTP status / WS | meaning |", "| --- | --- | --- |"]
    for entry in error_codes().values():
        where = ", ".join(str(status) for status in entry.statuses)
        rows.append(f"| `{entry.code}` | {where} | {entry.meaning} |")
    return "\n".join(rows)
