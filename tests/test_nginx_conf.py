"""deploy/nginx.conf agrees with the app: the same body limits, JSON errors, X-Forwarded-* set by nginx."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from chatproject.server.body_limits import body_limit

CONF_PATH = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"
# Without comments: their apostrophes and braces are not syntax.
CONF = re.sub(r"#[^\n]*", "", CONF_PATH.read_text())
UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}
# A block's body: anything but braces, or a quoted string (the JSON bodies hold braces).
BODY = r"\{((?:[^{}']|'[^']*')*)\}"


def block(header: str) -> str:
    """The body of the `header { ... }` block (no nested blocks inside the ones read here)."""
    match = re.search(re.escape(header) + r"\s*" + BODY, CONF)
    assert match, header
    return match.group(1)


def server_level() -> str:
    """The server block's own directives, without its locations."""
    server = CONF[CONF.index("server {") :]
    return re.sub(r"location[^{]*" + BODY, "", server)


def size_in(text: str) -> int:
    number, unit = re.search(r"client_max_body_size (\d+)([km]?);", text).groups()
    return int(number) * UNITS[unit]


def named_error(text: str, status: int) -> tuple[int, dict]:
    """Follow `error_page <status> [=]@name` in `text` to the status and JSON body that location returns."""
    name = re.search(rf"error_page [\d ]*\b{status}\b[\d ]* =?\s*(@\w+);", text).group(1)
    named = block(f"location {name}")
    assert "default_type application/json;" in named
    code, body = re.search(r"return (\d+) '([^']*)';", named).groups()
    return int(code), json.loads(body)


def test_body_limits_match_the_app():
    attachments = block("location = /api/attachments")

    assert size_in(server_level()) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert size_in(attachments) == body_limit(b"/api/attachments")[0]


def test_413_answers_the_apps_json_for_each_route():
    attachments = block("location = /api/attachments")

    assert named_error(server_level(), 413) == (413, body_limit(b"/api/register")[1])
    assert named_error(attachments, 413) == (413, body_limit(b"/api/attachments")[1])


@pytest.mark.parametrize("status", [502, 503, 504])
def test_upstream_failures_answer_503_json_everywhere(status):
    unavailable = (503, {"error": "service unavailable", "code": "service_unavailable"})

    assert named_error(server_level(), status) == unavailable
    assert named_error(block("location = /api/attachments"), status) == unavailable


def test_forwarded_headers_come_from_nginx_never_from_the_client():
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in CONF
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in CONF
    assert "$http_x_forwarded" not in CONF
    assert "$proxy_add_x_forwarded_for" not in CONF


def _nginx_version(binary: str) -> tuple[int, ...]:
    output = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False).stderr
    return tuple(int(part) for part in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", output).groups())


def test_nginx_accepts_the_config(tmp_path):
    """`nginx -t` on the file; Debian's nginx in CI (.ci/run installs it), skipped elsewhere without one."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is required under CI (.ci/run installs Debian's nginx-light)")
        pytest.skip("no nginx binary on this machine (apt-get install nginx-light)")
    conf = CONF
    if _nginx_version(binary) < (1, 27, 3):
        # `server ... resolve` needs nginx 1.27.3 (the compose image); Debian's older nginx checks the
        # rest, with the service name (which only Docker's DNS knows) as an address it can parse.
        conf = re.sub(r"server (\S+):(\d+) resolve;", r"server 127.0.0.1:\2;", conf)
    copy = tmp_path / "chat.conf"
    copy.write_text(conf)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {copy};\n}}\n"
    )

    result = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
