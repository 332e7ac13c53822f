"""The error code catalogue, the OpenAPI enum, README's table and the codes in the source agree."""

import ast
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from chatproject.error_codes import DRF_CODES, catalogue_markdown, error_codes

ROOT = Path(__file__).resolve().parents[1]
APPS = ("accounts", "chats", "messaging", "realtime", "web", "chatproject")
# Calls whose second positional argument is an error code.
CODE_CALLS = {"error_body", "error_payload", "send_error"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def codes_in_source() -> dict[str, str]:
    """{code: where} for every error code written as a literal in the apps' code (tests and migrations aside)."""
    found: dict[str, str] = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            where = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(), filename=where)):
                literals: list[str | None] = []
                if isinstance(node, ast.ClassDef):
                    literals += [
                        _string(item.value)
                        for item in node.body
                        if isinstance(item, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in item.targets)
                    ]
                elif isinstance(node, ast.Call):
                    literals += [_string(k.value) for k in node.keywords if k.arg == "code"]
                    if _name(node.func) in CODE_CALLS and len(node.args) >= 2:
                        literals.append(_string(node.args[1]))
                elif isinstance(node, ast.Dict):
                    literals += [
                        _string(v)
                        for k, v in zip(node.keys, node.values, strict=True)
                        if _string(k) == "code"
                    ]
                for literal in literals:
                    if literal is not None:
                        found.setdefault(literal, f"{where}:{getattr(node, 'lineno', 0)}")
    return found


def test_every_code_written_in_the_source_is_in_the_catalogue():
    missing = {code: where for code, where in codes_in_source().items() if code not in error_codes()}

    assert missing == {}


def test_every_catalogued_code_is_written_in_the_source_or_is_drfs_own():
    unused = set(error_codes()) - set(codes_in_source()) - DRF_CODES

    assert unused == set()


@pytest.mark.django_db
def test_the_schema_enum_is_the_catalogue(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    code = schema["components"]["schemas"]["Error"]["properties"]["code"]
    enum_ref = code["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][enum_ref]["enum"] == list(error_codes())


def test_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Error codes", 1)[1].split("\n#", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))

    assert table == catalogue_markdown(), "replace README's Error codes table with catalogue_markdown()"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("put", "/api/login", {}, 405, "method_not_allowed"),
        ("post", "/api/login", {"data": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        (
            "post",
            "/api/login",
            {"data": {}, "format": "json", "HTTP_ACCEPT": "text/html"},
            406,
            "not_acceptable",
        ),
        ("get", "/api/me", {"HTTP_AUTHORIZATION": "Bearer a b"}, 401, "bad_authorization_header"),
    ],
)
def test_drfs_own_codes_are_answered_as_catalogued(method, path, kwargs, status, code):
    response = getattr(APIClient(), method)(path, **kwargs)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert status in error_codes()[code].statuses


def test_drfs_own_codes_are_each_tested_above():
    tested = {"method_not_allowed", "unsupported_media_type", "not_acceptable", "bad_authorization_header"}

    assert tested == DRF_CODES
