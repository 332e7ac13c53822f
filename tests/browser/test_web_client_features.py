"""The web client's other screens in a real browser, and the README's client library example run as written.

Rows are written before the browser opens (see conftest: no ORM while Playwright's loop runs).
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from chats.tests.factories import private_chat
from messaging.services import message_send
from realtime.tests.live import ROOT, DaphneServer
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS
from tests.browser.pages import ARTIFACTS, AdminBrowser

pytestmark = pytest.mark.django_db(transaction=True)

# Assertions wait as long as actions do: 5 s is short on a 2-core machine running all of it at once.
expect.set_options(timeout=TIMEOUT_MS)

HISTORY = 120


def open_page(browser: Browser, server: DaphneServer, name: str, width: int = 1280) -> AdminBrowser:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return AdminBrowser(page, server.base, name)


def message_with(page: Page, text: str) -> Locator:
    """The message whose own text is exactly `text` (a reply quoting it does not count)."""
    return page.locator("#messages .message").filter(
        has=page.locator(".content").get_by_text(text, exact=True)
    )


def log_in(person: AdminBrowser, email: str) -> None:
    """Log in through the form."""
    person.goto("/")
    page = person.page
    page.locator("#login-email").fill(email)
    page.locator("#login-password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#connection")).to_have_text("Online")


def test_history_paging_reply_react_edit_delete_and_a_group(
    daphne_live: DaphneServer, chromium: Path, request: pytest.FixtureRequest
) -> None:
    alice = UserFactory(username="alice", email="alice@example.com")
    bob = UserFactory(username="bob", email="bob@example.com")
    UserFactory(username="carol", email="carol@example.com")
    chat = private_chat(alice, bob)
    for n in range(1, HISTORY + 1):
        message_send(chat_id=chat.pk, sender=bob if n % 2 else alice, content=f"old message {n}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            a = open_page(browser, daphne_live, f"{name}-alice")
            b = open_page(browser, daphne_live, f"{name}-bob")
            a.page.on("dialog", lambda dialog: dialog.accept())
            log_in(a, "alice@example.com")
            log_in(b, "bob@example.com")
            a.screenshot("chat-list")
            a.page.locator("#chat-list .chat-item", has_text="bob").click()
            b.page.locator("#chat-list .chat-item", has_text="alice").click()
            messages = a.page.locator("#messages .message")
            expect(messages).to_have_count(50)
            expect(messages.last).to_contain_text(f"old message {HISTORY}")

            # Scrolling to the top pages older history in, until the first message.
            for count in (100, HISTORY):
                a.page.locator("#messages").evaluate("list => list.scrollTop = 0")
                expect(messages).to_have_count(count)
            expect(messages.first).to_contain_text("old message 1")
            a.screenshot("history-paged")
            contents = a.page.locator("#messages .content").all_inner_texts()
            assert contents == [f"old message {n}" for n in range(1, HISTORY + 1)]

            # Reply to Bob's last message, react to it, then edit and delete her own reply.
            target = message_with(a.page, f"old message {HISTORY - 1}")
            target.get_by_role("button", name="Reply").click()
            expect(a.page.locator("#reply-preview")).to_contain_text(f"old message {HISTORY - 1}")
            a.page.get_by_label("Message", exact=True).fill("a reply")
            a.page.get_by_label("Message", exact=True).press("Enter")
            reply = message_with(b.page, "a reply")
            expect(reply.locator(".quote")).to_have_text(f"↪ old message {HISTORY - 1}")

            target.get_by_role("button", name="React with thumbs up").click()
            bobs_copy = message_with(b.page, f"old message {HISTORY - 1}")
            expect(bobs_copy.locator(".reactions")).to_have_text("👍 1")
            expect(target.locator(".reactions button")).to_have_attribute("aria-pressed", "true")

            mine = message_with(a.page, "a reply")
            mine.get_by_role("button", name="Edit").click()
            a.page.get_by_label("Message", exact=True).fill("an edited reply")
            a.page.get_by_label("Message", exact=True).press("Enter")
            edited = message_with(b.page, "an edited reply")
            expect(edited.locator(".meta")).to_contain_text("edited")
            b.screenshot("edited-and-reacted")

            message_with(a.page, "an edited reply").get_by_role("button", name="Delete").click()
            expect(b.page.locator("#messages .message.deleted .content")).to_have_text(
                ["This message was deleted"]
            )
            b.screenshot("deleted")

            # A group with someone found in the directory.
            a.page.get_by_label("Find people").fill("carol@example.com")
            a.page.get_by_role("button", name="Search").click()
            expect(a.page.get_by_role("button", name="Message carol")).to_be_visible()
            a.page.locator("#new-group summary").click()
            a.page.get_by_label("Group name").fill("Book club")
            a.page.get_by_label("carol").check()
            a.page.get_by_role("button", name="Create group").click()
            expect(a.page.locator("#chat-title")).to_have_text("Book club")
            expect(a.page.locator("#chat-presence")).to_contain_text("2 members")
            a.screenshot("group")
        finally:
            browser.close()


def readme_example() -> str:
    """The client library example from README.md, as a reader would copy it."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r'```html\n<script type="module">\n(.*?)</script>\n```', readme, re.S)
    assert found, "README.md lost its client library example"
    return found.group(1)


def test_the_readme_client_library_example_runs(
    daphne_live: DaphneServer, chromium: Path, request: pytest.FixtureRequest
) -> None:
    UserFactory(username="ivan", email="ivan@example.com")
    UserFactory(username="maria", email="maria@example.com")
    logged: list[str] = []
    wanted = re.compile(r"chat \d+ #1 from \d+: Hi!")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            person = open_page(browser, daphne_live, request.node.name)
            person.page.on("console", lambda message: logged.append(message.text))
            person.page.on("pageerror", lambda error: logged.append(f"page error: {error}"))
            # A blank page of the server's origin, so the example runs alone, as on an integrator's page.
            person.goto("/static/chat/client.js")
            person.page.set_content("<!doctype html><title>example</title>")
            person.page.add_script_tag(content=readme_example(), type="module")
            for _ in range(TIMEOUT_MS // 100):
                if any(wanted.fullmatch(line) for line in logged):
                    break
                person.page.wait_for_timeout(100)
        finally:
            browser.close()

    assert any(wanted.fullmatch(line) for line in logged), logged
    assert not [line for line in logged if line.startswith("page error")], logged
