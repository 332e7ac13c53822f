"""The admin as a moderator sees it in the browser: a page with screenshots, and the steps they take."""

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import LocatorAssertions, Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD
from realtime.tests.live import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "browser"


@dataclass
class AdminBrowser:
    """One page in a fresh browser, and the screenshots it has saved."""

    page: Page
    base: str
    name: str
    shots: list[Path] = field(default_factory=list)

    def goto(self, path: str) -> None:
        """Open a page of the server under test."""
        self.page.goto(self.base + path)

    def screenshot(self, label: str) -> Path:
        """Save the whole page under test-artifacts/browser/, numbered in visiting order."""
        path = ARTIFACTS / f"{self.name}-{len(self.shots) + 1:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path


# --- the admin ----------------------------------------------------------------------------------------


def log_in(browser: AdminBrowser, email: str) -> None:
    """Log in at /admin/ through the login form, as a person would."""
    browser.goto("/admin/")
    page = browser.page
    expect(page.locator("#id_username")).to_be_visible()
    browser.screenshot("login")
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(email)
    browser.screenshot("index")


def search(browser: AdminBrowser, changelist: str, term: str) -> None:
    """Open a change list and search it through its search box."""
    browser.goto(changelist)
    page = browser.page
    expect(page.locator("#changelist")).to_be_visible()
    browser.screenshot(changelist.strip("/").split("/")[-1] + "-list")
    page.fill("#searchbar", term)
    page.press("#searchbar", "Enter")
    page.wait_for_url(f"**{changelist}?q=*")


def run_action(browser: AdminBrowser, object_id: int, action: str) -> None:
    """Tick one row of the change list and run an action on it."""
    page = browser.page
    page.check(f"input.action-select[value='{object_id}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def success_message(browser: AdminBrowser) -> LocatorAssertions:
    """Assertions on the admin's success message (they wait for it)."""
    return expect(browser.page.locator("ul.messagelist li.success"))
