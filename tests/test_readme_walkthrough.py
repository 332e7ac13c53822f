"""README's walkthrough runs: its shell blocks with bash and curl, its Python and JS WebSocket examples,
against a real Daphne on the test database."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from realtime.tests.live import ROOT, daphne_server

pytestmark = pytest.mark.django_db(transaction=True)

README_BASE = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def walkthrough_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block in README's walkthrough section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walkthrough: curl, then a WebSocket", 1)[1].split("\n## ", 1)[0]
    return FENCE.findall(section)


def node_env() -> dict[str, str]:
    """Node 20 has a WebSocket client only behind a flag (22 has it by default)."""
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    major = int(version.strip().lstrip("v").split(".")[0])
    return {"NODE_OPTIONS": "--experimental-websocket"} if major < 22 else {}


def test_the_walkthrough_section_has_the_expected_blocks():
    languages = [language for language, _ in walkthrough_blocks()]

    assert languages == ["bash", "python", "bash", "js", "bash"]


def test_readme_walkthrough_runs_against_a_real_server(tmp_path: Path):
    """Every block, in order, in one bash session (so later blocks see earlier variables)."""
    blocks = walkthrough_blocks()
    # Without node the JS example still runs in Chromium (tests/browser/test_readme_example.py).
    has_node = shutil.which("node") is not None
    (tmp_path / "web").symlink_to(ROOT / "web")  # `cp web/static/chat/client.js .` from a repository root
    with daphne_server(settings.REDIS_URL, {"LOG_LEVEL": "WARNING"}) as server:
        ws_base = server.base.replace("http://", "ws://")
        shell: list[str] = []
        for language, code in blocks:
            code = code.replace(README_BASE, server.base).replace("ws://127.0.0.1:8000", ws_base)
            if language == "python":
                (tmp_path / "ws_example.py").write_text(code)
            elif language == "js":
                (tmp_path / "ws_example.mjs").write_text(code)
            elif "node ws_example.mjs" not in code or has_node:
                shell.append(code)
        env = {
            **os.environ,
            # `python3` is this interpreter (it has websockets), as after `make test` with the venv active.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            **(node_env() if has_node else {}),
        }
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "\n".join(shell)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert '"content": "Hi Bob!"' in result.stdout or '"content":"Hi Bob!"' in result.stdout
    assert '"access_token"' in result.stdout  # the refreshed pair
    assert "#2 Hi from Python" in result.stdout
    if not has_node:
        # CI has node (Debian's nodejs); elsewhere the JS example still runs in Chromium.
        if os.environ.get("CI"):
            pytest.fail("node is required under CI for README's JS example")
        pytest.skip("node is missing: the JS example ran only in tests/browser/test_readme_example.py")
    assert "#3 Hi from JavaScript" in result.stdout
