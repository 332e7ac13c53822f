"""Two people use the web client at `/` in real browsers, against real Daphne processes.

Alice and Bob register in two browser contexts (Bob on a phone-sized screen), find each other
through the user directory, chat live both ways and see typing and read markers. Bob's server
process is then killed; Alice sends meanwhile through hers; once Bob's process is back on its
address his page reconnects, resumes, and shows each message exactly once, in order. An image
round-trips as an upload, a preview and a download. Screenshots go to test-artifacts/browser/.
"""

import base64
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accounts.tests.factories import DEFAULT_PASSWORD
from realtime.tests.live import ROOT, database_url, free_port, http
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS
from tests.browser.pages import ARTIFACTS, AdminBrowser

pytestmark = pytest.mark.django_db(transaction=True)

# Assertions wait as long as actions do: 5 s is short on a 2-core machine running all of it at once.
expect.set_options(timeout=TIMEOUT_MS)

# The longest a page may take to notice its server is back: the client's backoff reaches a few seconds.
RECONNECT_MS = 60_000
# A 2x2 PNG, so the preview has real pixels to decode.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)


class RestartableDaphne:
    """A Daphne process on a fixed port that can be killed and started again at the same address."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()

    def start(self) -> None:
        """Start it and wait until /healthz answers."""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "chatproject.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("GET", f"{self.base}/healthz")[0] in (200, 503):
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"daphne did not start: {self.log.read().decode()[-2000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """Kill the process at once, as a crash would: its sockets drop without a close frame."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        """Stop it for good."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@contextmanager
def two_servers(static_root: Path) -> Iterator[tuple[RestartableDaphne, RestartableDaphne]]:
    """Two Daphne processes on the test database and Redis, as `make run WORKERS=2` would serve."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "THROTTLE_SEND": "100000/min",
        "STATIC_ROOT": str(static_root),
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
    }
    servers = (RestartableDaphne(env), RestartableDaphne(env))
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def new_page(browser: Browser, base: str, name: str, viewport: dict[str, int]) -> AdminBrowser:
    """A page in a browser context of its own (its own localStorage), on `base`."""
    page = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return AdminBrowser(page, base, name)


def register(person: AdminBrowser, username: str) -> None:
    """Register through the form; the client logs in and shows the chat screen."""
    person.goto("/")
    page = person.page
    expect(page.get_by_label("Username")).to_be_visible()
    person.screenshot("auth")
    page.get_by_label("Username").fill(username)
    page.locator("#register-email").fill(f"{username}@example.com")
    page.locator("#register-password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#whoami")).to_have_text(f"Signed in as {username}")
    expect(page.locator("#connection")).to_have_text("Online")


def send(page: Page, text: str) -> None:
    """Type a message and press Enter."""
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator("#messages .message.mine .content").last).to_have_text(text)


def contents(page: Page) -> list[str]:
    """Every message on screen, top to bottom."""
    return page.locator("#messages .message .content").all_inner_texts()


def test_two_people_chat_live_survive_a_server_restart_and_share_an_image(
    chromium: Path, static_root: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name
    with two_servers(static_root) as (alices_server, bobs_server), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            alice = new_page(browser, alices_server.base, f"{name}-alice", {"width": 1280, "height": 900})
            bob = new_page(browser, bobs_server.base, f"{name}-bob", {"width": 390, "height": 844})
            register(alice, "alice")
            register(bob, "bobby")
            bob.screenshot("chat-list-empty")

            # Alice finds Bob in the directory and starts a private chat.
            alice.page.get_by_label("Find people").fill("bob")
            alice.page.get_by_role("button", name="Search").click()
            alice.screenshot("directory")
            alice.page.get_by_role("button", name="Message bobby").click()
            expect(alice.page.locator("#chat-title")).to_have_text("bobby")
            expect(alice.page.locator("#chat-presence")).to_have_text("online")
            send(alice.page, "Hi Bob!")
            alice.screenshot("chat-sent")

            # Bob sees the new chat with its unread count and last message, then opens it.
            bobs_chat = bob.page.locator("#chat-list .chat-item")
            expect(bobs_chat).to_contain_text("alice")
            expect(bobs_chat).to_contain_text("alice: Hi Bob!")
            expect(bobs_chat.locator(".unread")).to_have_text("1")
            bob.screenshot("chat-list-unread")
            bobs_chat.click()
            expect(bob.page.locator("#messages .content")).to_have_text(["Hi Bob!"])
            # Bob's read marker reaches Alice.
            expect(alice.page.locator("#messages .message.mine .read-status").last).to_have_text("Read")
            expect(bobs_chat.locator(".unread")).to_have_count(0)

            # Typing shows on the other side; the reply arrives live.
            bob.page.get_by_label("Message", exact=True).press_sequentially("Hey", delay=50)
            expect(alice.page.locator("#typing")).to_have_text("bobby is typing…")
            alice.screenshot("typing")
            bob.page.get_by_label("Message", exact=True).press("Enter")
            expect(alice.page.locator("#messages .content")).to_have_text(["Hi Bob!", "Hey"])
            bob.screenshot("chat-open-phone")

            # Bob's server process dies; Alice keeps writing through hers.
            bobs_server.kill()
            expect(bob.page.locator("#connection")).to_contain_text("Offline")
            bob.screenshot("offline")
            missed = [f"while you were away {n}" for n in range(1, 4)]
            for text in missed:
                send(alice.page, text)
            bobs_server.start()
            expect(bob.page.locator("#connection")).to_have_text("Online", timeout=RECONNECT_MS)
            expect(bob.page.locator("#messages .content")).to_have_text(["Hi Bob!", "Hey", *missed])
            time.sleep(1)  # nothing may arrive twice, even late
            assert contents(bob.page) == ["Hi Bob!", "Hey", *missed]
            bob.screenshot("resumed")

            # An image: upload, send, preview on the other side, download the same bytes.
            image = tmp_path / "dot.png"
            image.write_bytes(PNG)
            alice.page.locator("#file-input").set_input_files(str(image))
            expect(alice.page.locator("#upload-preview")).to_have_text("Attached: dot.png")
            send(alice.page, "a picture")
            preview = bob.page.locator("#messages .attachment img[alt='dot.png']")
            expect(preview).to_be_visible()
            bob.page.wait_for_function(
                "() => document.querySelector(\"#messages .attachment img[alt='dot.png']\").naturalWidth === 2"
            )
            bob.screenshot("image")
            with bob.page.expect_download() as download_info:
                bob.page.get_by_role("button", name="Download dot.png").click()
            downloaded = Path(download_info.value.path())
            assert downloaded.read_bytes() == PNG
            assert download_info.value.suggested_filename == "dot.png"
            alice.screenshot("final")
        finally:
            browser.close()
