"""README's JavaScript WebSocket example, run in a page (where client.js is meant to live) against a real Daphne.

tests/test_readme_walkthrough.py runs it under node too, when node is installed.
"""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from accounts.tests.factories import UserFactory
from realtime.tests.live import DaphneServer
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS
from tests.test_readme_walkthrough import README_BASE, walkthrough_blocks

pytestmark = pytest.mark.django_db(transaction=True)

NODE_IMPORT = 'import { ChatClient } from "./client.js";'
PAGE_IMPORT = 'const { ChatClient } = await import("/static/chat/client.js");'


def test_readme_js_example_runs_in_a_page(daphne_live: DaphneServer, chromium: Path) -> None:
    UserFactory(username="alice", email="alice@example.com")
    UserFactory(username="bob", email="bob@example.com")
    [example] = [code for language, code in walkthrough_blocks() if language == "js"]
    assert NODE_IMPORT in example
    # In a page the module is imported from the server (a function body takes import(), not `import`).
    body = example.replace(NODE_IMPORT, PAGE_IMPORT).replace(README_BASE, daphne_live.base)
    logs: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda message: logs.append(message.text) if message.type == "log" else None)
            page.goto(daphne_live.base + "/static/chat/client.js")
            page.set_content("<!doctype html><title>README example</title>")
            page.evaluate(f"async () => {{\n{body}\n}}")
        finally:
            browser.close()

    assert logs == ["#1 Hi from JavaScript"]
