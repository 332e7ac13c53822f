"""The layers point one way (CONVENTIONS, Layout): what each part of the project may import.

- chatproject imports no app, except where the project is wired together: asgi.py, urls.py, settings/.
- accounts imports neither chats nor messaging: steps that span them live in actions/.
- No app imports actions: it is the top, and may import every app.
- The domain apps reach realtime only through its doorway (broadcasts, group names, the event list,
  presence reads).
Every import counts, a function-local one included.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "chats", "messaging", "realtime", "web", "actions")

# chatproject's modules that wire the apps together.
CHATPROJECT_WIRING = ("chatproject/asgi.py", "chatproject/urls.py", "chatproject/settings/")

# What the domain apps may use of realtime: the doorway, the group names, the event list, presence reads.
DOMAIN_MAY_IMPORT = {
    "realtime.broadcast",
    "realtime.groups",
    "realtime.protocol.event_types",
    "realtime.presence.selectors",
}


def modules(package: str) -> list[Path]:
    """Every source module of `package`, tests and migrations left out."""
    return [
        path
        for path in sorted((ROOT / package).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def imported(path: Path) -> set[str]:
    """The dotted names `path` imports, anywhere in it (relative imports resolved against its package)."""
    names: set[str] = set()
    package = path.relative_to(ROOT).with_suffix("").as_posix().split("/")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def imports_of(package: str, targets: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    """`module: name` for every import of `targets` by `package`'s modules outside `allowed` paths."""
    found = []
    for path in modules(package):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(allowed):
            continue
        for name in sorted(imported(path)):
            if name.split(".")[0] in targets:
                found.append(f"{relative}: {name}")
    return found


def test_chatproject_imports_no_app_outside_its_wiring():
    assert imports_of("chatproject", APPS, CHATPROJECT_WIRING) == []


def test_accounts_imports_neither_chats_nor_messaging():
    assert imports_of("accounts", ("chats", "messaging", "actions")) == []


def test_no_app_imports_actions():
    assert [found for app in APPS if app != "actions" for found in imports_of(app, ("actions",))] == []


def test_domain_apps_import_only_the_doorway_of_realtime():
    used = {
        name
        for app in ("accounts", "chats", "messaging")
        for path in modules(app)
        for name in imported(path)
        if name.startswith("realtime") and name.rsplit(".", 1)[0] not in DOMAIN_MAY_IMPORT
    }
    assert used - DOMAIN_MAY_IMPORT == set()
