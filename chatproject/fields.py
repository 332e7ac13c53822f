"""JSON field helpers shared by every app: strict input fields and the one datetime output format."""

import re
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

# PostgreSQL bigint: the range of every id, seq and offset; larger numbers are rejected as input
# instead of reaching the database as an out-of-range error.
BIGINT_MAX = 2**63 - 1

_DECIMAL_INTEGER = re.compile(r"-?[0-9]{1,19}")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_BIGINT_DIGITS = len(str(BIGINT_MAX))


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` suffix, like the seed (`2026-01-05T10:30:00.123456Z`)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def is_bigint_id(value: object) -> bool:
    """True for an int (not a bool) that can be a database id: 1 ..= BIGINT_MAX."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= BIGINT_MAX


def parse_id(text: str) -> int | None:
    """The id written in ASCII decimal digits (zero-padding allowed), or None when it is not one:
    not digits, 0, or past BIGINT_MAX. Checks the length first: int() of thousands of digits raises."""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0")
    if not digits or len(digits) > _BIGINT_DIGITS or int(digits) > BIGINT_MAX:
        return None
    return int(digits)


class StrictIntegerField(serializers.IntegerField):
    """An integer that really is one: JSON ints only (no "5", 5.0 or true), or decimal digits in a query string.

    DRF's IntegerField accepts "5", 5.0 and True; the OpenAPI schema says integer, so they are 400 here.
    """

    def __init__(self, *, from_query: bool = False, **kwargs: Any) -> None:
        self.from_query = from_query
        super().__init__(**kwargs)

    def get_value(self, dictionary: Any) -> Any:
        """An empty query value (`?limit=`) is a bad integer, not an omitted one as DRF's form rules say."""
        if self.from_query and dictionary.get(self.field_name, None) == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> int:
        """Parse without coercion."""
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            return data
        if self.from_query and isinstance(data, str) and _DECIMAL_INTEGER.fullmatch(data):
            return int(data)
        self.fail("invalid")


class StrictCharField(serializers.CharField):
    """A string that really is one: DRF's CharField turns 5 into "5"; here a non-string is 400."""

    def to_internal_value(self, data: Any) -> str:
        """Accept str only."""
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)  # type: ignore[no-any-return]
