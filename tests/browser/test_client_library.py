"""static/chat/client.js on its own, in a real browser against a real Daphne: what integrators rely on.

Rows are written before the browser opens (see conftest: no ORM while Playwright's loop runs).
"""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from realtime.tests.live import DaphneServer
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = """
async (password) => {
  const { ChatClient, ChatApiError } = await import("/static/chat/client.js");
  const ivan = new ChatClient({ storage: null, wsAuth: "subprotocol" });
  await ivan.login({ email: "ivan@example.com", password });

  // Refresh rotates: the old refresh token stops working. On a session of its own, since presenting a
  // rotated-away token is reuse, which ends the whole session (ivan's goes on below).
  const probe = new ChatClient({ storage: null });
  await probe.login({ email: "ivan@example.com", password });
  const first = probe.refreshToken;
  await probe.refresh();
  const old = await fetch("/api/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: first }),
  });

  // The socket (subprotocol login) resumes, then renews its expiry with an `auth` frame.
  const resumed = new Promise((resolve) => ivan.addEventListener("resumed", resolve, { once: true }));
  await ivan.connect();
  await resumed;
  const authenticated = new Promise((resolve) =>
    ivan.addEventListener("authenticated", (event) => resolve(event.detail), { once: true }));
  await ivan.renew();
  const renewal = await authenticated;

  // Live messages of a chat created after connecting, in order, each once.
  const maria = new ChatClient({ storage: null });
  await maria.login({ email: "maria@example.com", password });
  const received = [];
  const three = new Promise((resolve) => ivan.addEventListener("message", (event) => {
    received.push(event.detail.content);
    if (received.length === 3) resolve();
  }));
  const chat = await maria.createPrivateChat(ivan.user.id);
  for (const content of ["one", "two", "three"]) await maria.sendMessage({ chatId: chat.id, content });
  await three;
  const inOrder = received.slice();
  // A frame seen already (a repeated broadcast) is dropped.
  const before = received.length;
  const again = await maria.history(chat.id, { limit: 1 });
  await ivan._onFrame({ type: "new_message", payload: again[0] });
  const duplicateDropped = received.length === before;

  // A retried send with the same client_id is the same message.
  const a = await maria.sendMessage({ chatId: chat.id, content: "once", clientId: "retry-1" });
  const b = await maria.sendMessage({ chatId: chat.id, content: "once", clientId: "retry-1" });

  // Errors are ChatApiError with the body's code.
  let error = null;
  try { await maria.searchUsers("iv"); } catch (caught) {
    error = { isApiError: caught instanceof ChatApiError, status: caught.status, code: caught.code };
  }
  const found = await maria.searchUsers("IVA");

  // In a page of the server's origin the refresh token defaults to HttpOnly cookies: nothing in
  // localStorage or document.cookie, and a new client (a reload) restores from the cookie.
  const stored = new ChatClient();
  await stored.login({ email: "maria@example.com", password });
  const inCookie = stored.refreshCookie && stored.refreshToken === null && localStorage.length === 0
    && !document.cookie.includes("token");
  const restored = await new ChatClient().restore();
  // An explicit storage still keeps it there (another origin's page, or Node, does so by default).
  const explicit = new ChatClient({ storage: localStorage });
  await explicit.login({ email: "maria@example.com", password });
  const inStorage = !explicit.refreshCookie && localStorage.getItem("chat.refresh_token") === explicit.refreshToken;
  await explicit.logout();

  // Give the repeat's broadcast (there is none) time to show up twice if it ever did.
  await new Promise((resolve) => setTimeout(resolve, 500));
  ivan.disconnect();
  await maria.logout();
  return {
    oldRefreshStatus: old.status,
    expiresAt: renewal.expires_at,
    inOrder,
    received,
    duplicateDropped,
    seq: ivan.seqs.get(chat.id),
    sameMessage: a.id === b.id,
    error,
    found,
    inCookie,
    inStorage,
    restored,
    loggedOut: maria.refreshToken === null,
  };
}
"""


def test_client_library_auth_socket_and_rest(daphne_live: DaphneServer, chromium: Path) -> None:
    ivan = UserFactory(username="ivan", email="ivan@example.com")
    UserFactory(username="maria", email="maria@example.com")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(daphne_live.base + "/static/chat/client.js")
            page.set_content("<!doctype html><title>client library</title>")
            result: dict[str, Any] = page.evaluate(SCRIPT, DEFAULT_PASSWORD)
        finally:
            browser.close()

    assert result["oldRefreshStatus"] == 401
    assert result["expiresAt"].endswith("Z")
    assert result["inOrder"] == ["one", "two", "three"]
    assert result["duplicateDropped"] is True, result
    # The retried send was stored once, so it arrived once.
    assert result["received"] == ["one", "two", "three", "once"]
    assert result["seq"] == 4
    assert result["sameMessage"] is True, result
    assert result["error"] == {"isApiError": True, "status": 400, "code": "search_too_short"}
    assert result["found"] == [{"id": ivan.pk, "username": "ivan"}]
    assert result["inCookie"] is True, result
    assert result["inStorage"] is True, result
    assert result["restored"] is True, result
    assert result["loggedOut"] is True, result
