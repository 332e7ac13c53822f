"""The web client's tokens and headers in Chromium (issue 20): no token within a page script's reach, a strict CSP.

Ivan logs in through the form at `/`, reloads and is still logged in: the refresh token is in HttpOnly
cookies the page cannot read, the access token in memory. The page is served with its CSP, and nothing
it does (the socket included) is refused by it. Rows are written before the browser opens (see conftest).
"""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from realtime.tests.live import DaphneServer
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)

# Playwright's init scripts run whatever the page's CSP says, so this listener sees every violation.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) =>
  console.error(`Content Security Policy violation: ${event.violatedDirective} ${event.blockedURI}`));
"""
PAGE_STORAGE = """() => ({
  cookie: document.cookie,
  local: Object.fromEntries(Object.entries(localStorage)),
  session: Object.fromEntries(Object.entries(sessionStorage)),
})"""


def assert_no_token_in_reach(page: Page) -> None:
    """Neither document.cookie nor Web Storage holds a token (JWTs start with eyJ)."""
    reach: dict[str, Any] = page.evaluate(PAGE_STORAGE)
    assert "eyJ" not in reach["cookie"], reach
    assert "token" not in reach["cookie"], reach
    for store in (reach["local"], reach["session"]):
        assert not any("token" in key for key in store), reach
        assert not any("eyJ" in value for value in store.values()), reach


def assert_logged_in(page: Page) -> None:
    expect(page.locator("#whoami")).to_have_text("Signed in as ivan", timeout=TIMEOUT_MS)
    expect(page.locator("#connection")).to_have_text("Online", timeout=TIMEOUT_MS)


def test_web_client_keeps_its_tokens_from_page_scripts_under_a_strict_csp(
    daphne_live: DaphneServer, chromium: Path
) -> None:
    UserFactory(username="ivan", email="ivan@example.com")
    violations: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.add_init_script(REPORT_VIOLATIONS)
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )

            response = page.goto(daphne_live.base + "/")
            assert response is not None
            headers = response.headers
            page.locator("#login-email").fill("ivan@example.com")
            page.locator("#login-password").fill(DEFAULT_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            assert_logged_in(page)
            assert_no_token_in_reach(page)
            cookies = {cookie["name"]: cookie for cookie in context.cookies()}

            page.reload()
            assert_logged_in(page)  # restored through the cookie, the socket open again
            assert_no_token_in_reach(page)

            page.get_by_role("button", name="Log out").click()
            expect(page.locator("#login-email")).to_be_visible(timeout=TIMEOUT_MS)
            after_logout = {cookie["name"] for cookie in context.cookies()}
            page.reload()
            expect(page.locator("#login-email")).to_be_visible(timeout=TIMEOUT_MS)
        finally:
            browser.close()

    host = daphne_live.base.removeprefix("http://")
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert f"connect-src 'self' ws://{host} wss://{host}" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert violations == []
    for name, path in {"refresh_token": "/api/refresh", "logout_token": "/api/logout"}.items():
        assert cookies[name]["httpOnly"] is True
        assert cookies[name]["sameSite"] == "Strict"
        assert cookies[name]["path"] == path
    assert not {"refresh_token", "logout_token"} & after_logout
