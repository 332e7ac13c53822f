"""A moderator in a real browser: log in at /admin/, ban a user, delete a message, remove a member.

Each test builds its rows, opens the users' sockets on a real Daphne process (the `websockets`
library), drives headless Chromium through the admin, then checks what the users' sockets and the
REST API saw. Screenshots of every admin page visited go to test-artifacts/browser/.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Response, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from accounts.tests.admin_helpers import make_moderator
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from chats.models import ChatMember
from chats.tests.factories import group_chat, private_chat
from messaging.models import Message
from messaging.services import message_send
from realtime.tests.live import http, ws_url
from realtime.tests.wsclient import access_token
from tests.browser.pages import log_in, run_action, search, success_message

pytestmark = pytest.mark.django_db(transaction=True)

FRAME_TIMEOUT = 10.0


# --- sockets ------------------------------------------------------------------------------------------


@contextmanager
def socket_of(base: str, user: Any) -> Iterator[ClientConnection]:
    """A WebSocket of `user` on the server; once open it is subscribed to all of the user's chats."""
    headers = {"Authorization": f"Bearer {access_token(user)}"}
    with connect(ws_url(base), additional_headers=headers, proxy=None, open_timeout=FRAME_TIMEOUT) as ws:
        yield ws


def frames_until(ws: ClientConnection, wanted: Any) -> list[dict[str, Any]]:
    """Every frame received up to and including the first for which wanted(frame) is true."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + FRAME_TIMEOUT
    while True:
        frame = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        seen.append(frame)
        if wanted(frame):
            return seen


def next_frame(ws: ClientConnection, frame_type: str) -> dict[str, Any]:
    """The next frame of `frame_type`, skipping others (presence, typing...)."""
    return frames_until(ws, lambda frame: frame["type"] == frame_type)[-1]


def close_code(ws: ClientConnection) -> int | None:
    """Wait for the server to close the socket, skipping frames; the close code it sent."""
    deadline = time.monotonic() + FRAME_TIMEOUT
    try:
        while True:
            ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


# --- tests --------------------------------------------------------------------------------------------


def test_admin_pages_load_their_stylesheets(daphne_live, admin_browser):
    stylesheets: list[tuple[str, int, str]] = []

    def record(response: Response) -> None:
        if response.request.resource_type == "stylesheet":
            stylesheets.append((response.url, response.status, response.headers.get("content-type", "")))

    with admin_browser(daphne_live) as browser:
        browser.page.on("response", record)
        browser.goto("/admin/login/")
        browser.page.wait_for_load_state("load")
        browser.screenshot("login")

    failed = [(url, status, kind) for url, status, kind in stylesheets if status != 200 or "css" not in kind]
    assert any("/static/admin/css/base." in url for url, _, _ in stylesheets)
    assert failed == []


def test_moderator_ban_in_the_browser_closes_the_users_socket_and_refuses_their_login(
    daphne_live, admin_browser
):
    moderator = make_moderator()
    target = UserFactory(email="troll@example.com")
    UserFactory(email="bystander@example.com")

    with socket_of(daphne_live.base, target) as ws, admin_browser(daphne_live) as browser:
        log_in(browser, moderator.email)
        search(browser, "/admin/accounts/user/", "troll@example.com")
        rows = browser.page.locator("#result_list tbody tr")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("troll@example.com")
        browser.screenshot("user-found")
        run_action(browser, target.pk, "deactivate_users")
        success_message(browser).to_contain_text("Deactivated 1 user(s).")
        browser.screenshot("user-banned")
        code = close_code(ws)
        login_status, login_body = http(
            "POST",
            f"{daphne_live.base}/api/login",
            {"email": "troll@example.com", "password": DEFAULT_PASSWORD},
        )

    assert code == 4403
    assert (login_status, login_body["error"]) == (403, "account disabled")
    target.refresh_from_db()
    assert target.is_active is False


def test_moderator_message_delete_in_the_browser_tombstones_it_and_tells_the_chats_sockets(
    daphne_live, admin_browser
):
    moderator = make_moderator()
    author, witness = UserFactory(), UserFactory()
    chat = group_chat(author, witness, name="Book club")
    kept = message_send(chat_id=chat.pk, sender=author, content="a fine review")
    spam = message_send(chat_id=chat.pk, sender=author, content="buy cheap watches now")
    witness_token = access_token(witness)

    with socket_of(daphne_live.base, witness) as ws, admin_browser(daphne_live) as browser:
        log_in(browser, moderator.email)
        search(browser, "/admin/messaging/message/", "cheap watches")
        expect(browser.page.locator("#result_list tbody tr")).to_have_count(1)
        browser.screenshot("message-found")
        run_action(browser, spam.pk, "delete_selected")
        expect(browser.page.locator("#messages-to-delete")).to_contain_text("buy cheap watches now")
        browser.screenshot("delete-confirmation")
        browser.page.click("input[type=submit][value='Yes, delete']")
        success_message(browser).to_contain_text("Deleted 1 message(s).")
        browser.screenshot("message-deleted")
        deleted = next_frame(ws, "message_deleted")
        status, history = http(
            "GET", f"{daphne_live.base}/api/messages/get?chat_id={chat.pk}", token=witness_token
        )

    assert (deleted["payload"]["id"], deleted["payload"]["chat_id"]) == (spam.pk, chat.pk)
    by_id = {m["id"]: m for m in history["messages"]}
    assert status == 200
    assert (by_id[spam.pk]["deleted"], by_id[spam.pk]["content"]) == (True, "")
    assert (by_id[kept.pk]["deleted"], by_id[kept.pk]["content"]) == (False, "a fine review")
    assert Message.objects.get(pk=spam.pk).deleted_at is not None


def test_moderator_member_removal_in_the_browser_stops_that_members_socket_receiving_the_chat(
    daphne_live, admin_browser
):
    moderator = make_moderator()
    owner, leaver, witness = UserFactory(), UserFactory(email="leaver@example.com"), UserFactory()
    group = group_chat(owner, leaver, witness, name="Night owls")
    # The leaver's other chat: a message in it is the marker that the group's message would precede.
    marker_chat = private_chat(witness, leaver)
    witness_token = access_token(witness)

    with (
        socket_of(daphne_live.base, leaver) as leaver_ws,
        socket_of(daphne_live.base, witness) as witness_ws,
        admin_browser(daphne_live) as browser,
    ):
        log_in(browser, moderator.email)
        search(browser, "/admin/chats/chat/", "Night owls")
        browser.screenshot("chat-found")
        browser.page.click(f"#result_list a[href*='/admin/chats/chat/{group.pk}/change/']")
        member_row = browser.page.locator("#memberships-group tr.form-row", has_text="leaver@example.com")
        expect(member_row).to_have_count(1)
        browser.screenshot("chat-members")
        member_row.locator("input[name$='-DELETE']").check()
        browser.page.click("input[name=_save]")
        success_message(browser).to_contain_text("was changed successfully")
        browser.screenshot("member-removed")

        removed = next_frame(leaver_ws, "member_removed")
        next_frame(witness_ws, "member_removed")
        base = daphne_live.base
        http("POST", f"{base}/api/messages/send", {"chat_id": group.pk, "content": "after"}, witness_token)
        on_witness = next_frame(witness_ws, "new_message")
        http("POST", f"{base}/api/messages/send", {"chat_id": marker_chat.pk, "content": "x"}, witness_token)
        on_leaver = frames_until(
            leaver_ws, lambda f: f["type"] == "new_message" and f["payload"]["chat_id"] == marker_chat.pk
        )

    assert removed["payload"] == {"chat_id": group.pk, "user_id": leaver.pk}
    assert (on_witness["payload"]["chat_id"], on_witness["payload"]["content"]) == (group.pk, "after")
    assert [f for f in on_leaver if f.get("payload", {}).get("chat_id") == group.pk] == []
    assert not ChatMember.objects.filter(chat=group, user=leaver).exists()
