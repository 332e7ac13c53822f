"""Deployment files: the compose file against the compose-spec schema, and the promises they make.

There is no Docker engine here, so the compose file is checked with check-jsonschema and the
compose-spec schema it vendors (offline), and the Dockerfile is read with BuildKit's own parser.
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml

from chatproject.conf import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "web", "maintenance")
# Inside a container the app must listen on every interface, or the proxy cannot reach it; WORKERS
# Daphne processes share the port (chatproject/serve.py). The frame limit matches
# settings.WS_MAX_FRAME_BYTES, so Daphne itself closes oversized frames with 1009.
DAPHNE = [
    "python",
    "-m",
    "chatproject.serve",
    "--host",
    "0.0.0.0",  # noqa: S104
    "--port",
    "8000",
    "--",
    "--websocket-max-message-size",
    "65536",
]
# Behind nginx, and only there, Daphne takes the client's address and scheme from X-Forwarded-For/-Proto.
WEB = [*DAPHNE, "--proxy-headers"]
MEDIA = "/app/media"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")
# Any proxy a download might use points at a closed local port: validation must not need the network.
OFFLINE_ENV = {
    **os.environ,
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
}


def validate_compose(path: Path) -> subprocess.CompletedProcess[str]:
    """Run check-jsonschema with its vendored compose-spec schema on `path`."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        env=OFFLINE_ENV,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as compose reads it (YAML merge keys resolved, ${...} left as written)."""
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    """The services section."""
    return compose["services"]


@pytest.fixture(scope="module")
def docker_commands() -> list[Any]:
    """The Dockerfile's instructions, as BuildKit parses them."""
    return list(dockerfile.parse_file(str(ROOT / "Dockerfile")))


def env_example() -> dict[str, str]:
    """The uncommented NAME=value lines of .env.example."""
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def settings_env_names() -> set[str]:
    """Every environment variable the settings read: through django-environ in chatproject/settings/,
    and the chat's own settings (chatproject.conf), each read from the variable of its name."""
    text = "\n".join(path.read_text() for path in (ROOT / "chatproject" / "settings").glob("*.py"))
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", text)) | set(DEFAULTS)


# --- Validity -----------------------------------------------------------------------------------


def test_compose_file_is_valid_when_checked_against_compose_spec() -> None:
    result = validate_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_validator_rejects_file_when_a_condition_is_misspelled(tmp_path: Path) -> None:
    text = COMPOSE.read_text()
    assert "service_completed_successfully" in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace("service_completed_successfully", "service_completed"))
    result = validate_compose(broken)
    assert result.returncode == 1
    assert "service_completed" in result.stdout


def test_compose_depends_on_names_only_defined_services(services: dict[str, Any]) -> None:
    # The schema cannot check references between services; compose would refuse to start.
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services) - {name}, name


# --- Services and start order -------------------------------------------------------------------


def test_compose_defines_database_cache_migrate_web_maintenance_and_proxy(services: dict[str, Any]) -> None:
    assert {"db", "redis", "migrate", "web", "maintenance", "proxy"} <= set(services)


def test_compose_pins_postgres_16_and_redis_7(services: dict[str, Any]) -> None:
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_web_depends_on_migrate_completing_and_db_redis_healthy(services: dict[str, Any]) -> None:
    assert services["web"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_migrate_runs_migrations_once_db_is_healthy(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"


def test_web_serves_with_daphne_on_port_8000_reading_the_proxys_headers(services: dict[str, Any]) -> None:
    assert services["web"]["command"] == WEB


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_the_same_image(services: dict[str, Any], name: str) -> None:
    assert services[name]["image"] == services["web"]["image"]
    assert services[name]["build"] == "."


def test_maintenance_runs_the_scheduled_jobs_once_migrated(services: dict[str, Any]) -> None:
    maintenance = services["maintenance"]
    assert maintenance["command"][:3] == ["python", "manage.py", "run_maintenance"]
    assert "--once" not in maintenance["command"]
    assert maintenance["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "db": {"condition": "service_healthy"},
    }
    assert maintenance["restart"] == "unless-stopped"
    assert "ports" not in maintenance


# --- Media: one volume, writable by the app, shared by every replica ----------------------------


@pytest.mark.parametrize("name", ["web", "maintenance"])
def test_web_and_maintenance_mount_the_media_volume_at_media_root(
    services: dict[str, Any], name: str
) -> None:
    assert services[name]["environment"]["MEDIA_ROOT"] == MEDIA
    assert f"media:{MEDIA}" in services[name]["volumes"]


def test_media_is_a_named_volume_so_replicas_share_it_and_it_outlives_containers(
    compose: dict[str, Any],
) -> None:
    # A named volume, not a bind mount or a tmpfs: `--scale web=N` mounts the one volume in each replica.
    assert "media" in compose["volumes"]
    assert not (compose["volumes"]["media"] or {}).get("external")


def test_dockerfile_creates_media_root_owned_by_the_app_user_before_dropping_root(
    docker_commands: list[Any],
) -> None:
    # A new named volume is seeded from the image's directory, owner included: `app` can write uploads.
    names = [c.cmd for c in docker_commands]
    user_at = max(i for i, name in enumerate(names) if name == "USER")
    runs = [(i, c.value[0]) for i, c in enumerate(docker_commands) if c.cmd == "RUN"]
    made = [i for i, run in runs if f"mkdir -p {MEDIA}" in run and f"chown app:app {MEDIA}" in run]
    assert made
    assert made[0] < user_at
    assert docker_commands[user_at].value[0] == "app"
    assert any(c.cmd == "ENV" and f"MEDIA_ROOT={MEDIA}" in c.original for c in docker_commands)


# --- Health checks ------------------------------------------------------------------------------


def test_db_health_check_uses_pg_isready(services: dict[str, Any]) -> None:
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def test_redis_health_check_uses_redis_cli_ping(services: dict[str, Any]) -> None:
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])


def test_web_health_check_gets_healthz_with_the_images_python(services: dict[str, Any]) -> None:
    check = services["web"]["healthcheck"]["test"]
    assert check[:2] == ["CMD", "python"]
    assert "http://127.0.0.1:8000/healthz" in " ".join(check)


def test_web_health_check_host_is_always_allowed(services: dict[str, Any]) -> None:
    # The check sends Host 127.0.0.1; were it not allowed, Django would answer 400 and web never start.
    assert services["web"]["environment"]["ALLOWED_HOSTS"].endswith(",127.0.0.1")


# --- Environment and secrets --------------------------------------------------------------------


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_read_env_file_dot_env(services: dict[str, Any], name: str) -> None:
    assert services[name]["env_file"] == ".env"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_database_and_redis_by_service_name(services: dict[str, Any], name: str) -> None:
    environment = services[name]["environment"]
    assert re.fullmatch(r"postgres://.+@db:5432/.+", environment["DATABASE_URL"])
    assert environment["REDIS_URL"] == "redis://redis:6379/0"


def test_compose_turns_ssl_redirect_off(services: dict[str, Any]) -> None:
    assert services["web"]["environment"]["SECURE_SSL_REDIRECT"] == "0"


def test_compose_has_no_literal_secrets(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}.{key}={value!r}"
        database_url = (service.get("environment") or {}).get("DATABASE_URL")
        if database_url:
            # With every ${...} taken out, no user or password is left written in the URL.
            assert re.sub(r"\$\{[^}]*\}", "", database_url) == "postgres://:@db:5432/", database_url
            assert "${POSTGRES_PASSWORD:?" in database_url


def test_env_example_leaves_every_secret_empty() -> None:
    secrets = {name: value for name, value in env_example().items() if SECRET_NAME.search(name)}
    assert set(secrets) >= {"SECRET_KEY", "POSTGRES_PASSWORD"}
    assert all(value == "" for value in secrets.values()), secrets


def test_env_example_sets_only_names_compose_or_settings_use() -> None:
    compose_names = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    known = settings_env_names() | compose_names | {"ASGI_THREADS"}
    assert set(env_example()) <= known, set(env_example()) - known


# --- Scaling behind one port --------------------------------------------------------------------


def test_web_publishes_no_host_port_so_it_can_scale(services: dict[str, Any]) -> None:
    assert "ports" not in services["web"]
    assert "container_name" not in services["web"]


def test_proxy_is_the_only_service_publishing_a_port(services: dict[str, Any]) -> None:
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    assert list(published) == ["proxy"]
    assert len(published["proxy"]) == 1


def test_proxy_forwards_http_and_websocket_upgrade_to_web_service(services: dict[str, Any]) -> None:
    mount = next(v for v in services["proxy"]["volumes"] if v.endswith(":/etc/nginx/conf.d/default.conf:ro"))
    conf = (ROOT / mount.split(":")[0]).read_text()
    upstream = re.search(r"upstream (\w+) \{[^}]*server web:8000 resolve;", conf)
    assert upstream is not None
    assert f"proxy_pass http://{upstream.group(1)};" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf


def test_client_address_is_decided_once_by_daphne_from_the_header_nginx_sets(
    services: dict[str, Any],
) -> None:
    # nginx writes X-Forwarded-For (one address, a client's own header dropped); Daphne's --proxy-headers
    # makes it REMOTE_ADDR; throttles then read REMOTE_ADDR and must not count proxies again.
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "--proxy-headers" in services["web"]["command"]
    assert services["web"]["environment"]["NUM_PROXIES"] == "0"


# --- Logs and metrics ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_log_json(services: dict[str, Any], name: str) -> None:
    assert services[name]["environment"]["LOG_FORMAT"] == "json"


def test_metrics_are_for_loopback_unless_configured_and_the_token_comes_from_env_file(
    services: dict[str, Any],
) -> None:
    environment = services["web"]["environment"]
    assert environment["METRICS_ALLOWED_CIDRS"] == "${METRICS_ALLOWED_CIDRS:-127.0.0.0/8,::1/128}"
    # A secret: from .env (empty in .env.example), never written in the compose file.
    assert "METRICS_TOKEN" not in environment
    assert env_example()["METRICS_TOKEN"] == ""


def test_each_web_container_keeps_its_own_metrics_directory(services: dict[str, Any]) -> None:
    # chatproject.serve makes one in the container's /tmp: replicas must not share (or wipe) each other's.
    assert "PROMETHEUS_MULTIPROC_DIR" not in services["web"]["environment"]


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_builds_on_python_311_slim(docker_commands: list[Any]) -> None:
    assert docker_commands[0].cmd == "FROM"
    assert docker_commands[0].value == ("python:3.11-slim",)


def test_dockerfile_runs_as_non_root_user(docker_commands: list[Any]) -> None:
    users = [c.value[0] for c in docker_commands if c.cmd == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}


def test_dockerfile_installs_requirements(docker_commands: list[Any]) -> None:
    assert any(
        c.cmd == "RUN" and "pip install --require-hashes -r requirements.txt" in c.value[0]
        for c in docker_commands
    )


def test_dockerfile_collects_static_with_a_build_only_secret(docker_commands: list[Any]) -> None:
    collect = [c for c in docker_commands if c.cmd == "RUN" and "collectstatic" in c.value[0]]
    assert len(collect) == 1
    assert re.match(r"SECRET_KEY=\S+ DEBUG=0 python manage.py collectstatic", collect[0].value[0])
    # The dummy key lives in that one RUN only, never in the image's environment.
    assert not any(c.cmd in {"ENV", "ARG"} and "SECRET_KEY" in c.original for c in docker_commands)


def test_dockerfile_exposes_8000_and_serves_with_daphne(docker_commands: list[Any]) -> None:
    assert [c.value for c in docker_commands if c.cmd == "EXPOSE"] == [("8000",)]
    cmd = [c for c in docker_commands if c.cmd == "CMD"]
    assert cmd[-1].json
    # The image alone has no proxy in front: it must not believe a client's X-Forwarded-For.
    assert list(cmd[-1].value) == DAPHNE


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "db.sqlite3", "staticfiles"} <= ignored


# --- README stays true to the code --------------------------------------------------------------


def test_readme_documents_every_setting_settings_reads() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in settings_env_names() | {"ASGI_THREADS"} if f"`{name}`" not in readme)
    assert not missing, f"add these to README.md's Configuration table: {missing}"


def test_readme_quotes_the_makefiles_defaults() -> None:
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    host = re.search(r"^HOST \?= (\S+)$", makefile, re.MULTILINE)
    port = re.search(r"^PORT \?= (\S+)$", makefile, re.MULTILINE)
    assert host is not None
    assert port is not None
    assert f"{host.group(1)}:{port.group(1)}" in readme
    for address in re.findall(r"@(127\.0\.0\.1:\d+)|//(127\.0\.0\.1:\d+)", makefile):
        assert "".join(address) in readme


@pytest.mark.parametrize("target", ["run", "test", "lint", "lock"])
def test_readme_make_targets_exist_in_makefile(target: str) -> None:
    assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert f"make {target}" in (ROOT / "README.md").read_text()


# Wiring every package has, left out of the code map: re-exports, AppConfigs, URLconfs. A package's
# `__init__.py` that defines a function or class is a module of its own, and needs its row.
CODE_MAP_SKIPS = {"__init__.py", "apps.py", "urls.py"}


def defines_something(path: Path) -> bool:
    """Whether a module defines a function or a class (not only a docstring and re-exports)."""
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for node in tree.body)


def code_map_rows() -> list[str]:
    """The module each row of README's code map names: its first cell, one path in backticks."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Code map", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    cells = [row.split("|")[1].strip() for row in rows]
    assert all(re.fullmatch(r"`[^`]+\.py`", cell) for cell in cells), [
        cell for cell in cells if not re.fullmatch(r"`[^`]+\.py`", cell)
    ]
    return [cell.strip("`") for cell in cells]


def code_map_modules() -> set[str]:
    """Every module the code map must name: outside tests, migrations, bench and tools."""
    found = set()
    for path in ROOT.glob("*/**/*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {"bench", "tests", "tools", ".venv", "staticfiles", "node_modules"}:
            continue
        if "tests" in parts or "migrations" in parts:
            continue
        if parts[-1] in CODE_MAP_SKIPS and not (parts[-1] == "__init__.py" and defines_something(path)):
            continue
        found.add("/".join(parts))
    return found


def test_readme_code_map_names_every_module() -> None:
    """README's code map stays true: every module has a row of its own (no folder rows)."""
    missing = sorted(code_map_modules() - set(code_map_rows()))
    assert not missing, f"add these to README.md's Code map: {missing}"


def test_readme_code_map_names_no_missing_module() -> None:
    """A row whose module was moved or deleted fails, as does a module named twice."""
    rows = code_map_rows()
    stale = sorted(set(rows) - code_map_modules())
    assert not stale, f"remove or fix these rows of README.md's Code map: {stale}"
    assert len(rows) == len(set(rows)), sorted({row for row in rows if rows.count(row) > 1})
