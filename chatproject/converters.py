"""The `id` path converter: every id in a URL path, registered once for every app's routes."""

from django.urls import register_converter

from chatproject.fields import parse_id

ID = "id"


class IdConverter:
    """A database id, 1 ..= 2**63 - 1, written in decimal digits.

    Anything else (0, a 20-digit number, 5,000 digits that int() refuses) does not match the route,
    so it is the JSON 404 of any unknown URL and never reaches a view, int() or the database.
    """

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        """The id as an int; ValueError (no match) outside the 64-bit id range."""
        number = parse_id(value)
        if number is None:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        """The id as written in a path."""
        return str(value)


register_converter(IdConverter, ID)
