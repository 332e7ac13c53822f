"""Browser tests: Debian's headless Chromium, driven by Playwright, against a real Daphne process.

Playwright's sync API runs an asyncio loop in the test's thread while a browser is open, and Django
refuses ORM calls from a thread with a running loop; so a test writes and reads rows only before it
opens the browser (`admin_browser`) and after it closes it, and talks to the server over HTTP and
WebSocket in between.
"""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from realtime.tests.live import ROOT, DaphneServer, daphne_server
from tests.browser.pages import ARTIFACTS, AdminBrowser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_HINT = (
    f"browser tests need Debian's Chromium at {CHROMIUM}: "
    "apt-get install -y --no-install-recommends chromium (never `playwright install`)"
)
# Generous for a 2-core machine running Daphne, PostgreSQL, Redis and Chromium at once.
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; missing, the tests fail under CI and are skipped elsewhere."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(MISSING_HINT, pytrace=False)
        pytest.skip(MISSING_HINT)
    return CHROMIUM


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The admin's static files, collected once: Daphne runs with DEBUG off and whitenoise serves them.

    A fresh clone has no staticfiles/ (make run collects it, make test does not), so the tests
    collect into a directory of their own and point the server at it through STATIC_ROOT.
    """
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY, "STATIC_ROOT": str(root)},
        check=True,
    )
    return root


@pytest.fixture
def daphne_live(chromium: Path, transactional_db: None, static_root: Path) -> Iterator[DaphneServer]:
    """A Daphne process on the test database, serving the admin with its static files."""
    env = {
        "STATIC_ROOT": str(static_root),
        # Plain http on 127.0.0.1: production's Secure cookies would not come back over it.
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
    }
    with daphne_server(settings.REDIS_URL, env) as server:
        yield server


@pytest.fixture
def admin_browser(
    request: pytest.FixtureRequest, chromium: Path
) -> Callable[[DaphneServer], AbstractContextManager[AdminBrowser]]:
    """`with admin_browser(server) as browser:` a fresh headless Chromium page on the server."""

    @contextmanager
    def open_browser(server: DaphneServer) -> Iterator[AdminBrowser]:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.set_default_timeout(TIMEOUT_MS)
                yield AdminBrowser(page, server.base, request.node.name)
            finally:
                browser.close()

    return open_browser
