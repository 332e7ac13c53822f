"""OrderedDelivery on its own: every ordering, gap, duplicate, hold and resume case, without a socket."""

import asyncio
from typing import Any

import pytest

from realtime.socket.delivery import OrderedDelivery

CHAT = 7
WAIT = 0.02


def message(seq: int, chat_id: int = CHAT) -> dict[str, Any]:
    return {"chat_id": chat_id, "seq": seq, "content": f"m{seq}"}


class Harness:
    """An OrderedDelivery whose frames go to a list and whose 'database' is a dict of stored messages."""

    def __init__(self, *, stored: int = 0, limit: int = 100, holding: bool = False):
        self.stored: dict[int, dict[str, Any]] = {seq: message(seq) for seq in range(1, stored + 1)}
        self.sent: list[tuple[str, Any]] = []
        self.fetches: list[tuple[int, int, int]] = []
        self.delivery = OrderedDelivery(
            send=self._send, fetch=self._fetch, replay_limit=limit, reorder_wait=WAIT, holding=holding
        )

    async def _send(self, frame_type: str, payload: dict[str, Any], text: str | None) -> None:
        self.sent.append((frame_type, payload["seq"] if frame_type == "new_message" else payload))

    async def _fetch(self, chat_id: int, after: int, through: int) -> list[dict[str, Any]]:
        self.fetches.append((chat_id, after, through))
        return [self.stored[seq] for seq in sorted(self.stored) if after < seq <= through][:101]

    def store(self, *seqs: int) -> None:
        for seq in seqs:
            self.stored[seq] = message(seq)

    def seqs(self) -> list[int]:
        return [seq for kind, seq in self.sent if kind == "new_message"]


async def settle() -> None:
    await asyncio.sleep(WAIT * 4)


async def test_in_order_messages_go_out_at_once():
    h = Harness()
    h.delivery.start(CHAT, 0)
    for seq in (1, 2, 3):
        h.store(seq)
        assert await h.delivery.offer(message(seq))
    assert h.seqs() == [1, 2, 3]
    assert h.delivery.cursor(CHAT) == 3


async def test_out_of_order_within_the_wait_is_reordered_without_the_database():
    h = Harness(stored=3)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(2))
    await h.delivery.offer(message(3))
    assert h.seqs() == []
    await h.delivery.offer(message(1))
    assert h.seqs() == [1, 2, 3]
    await settle()
    assert h.fetches == []


async def test_duplicates_are_dropped():
    h = Harness(stored=2)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(1))
    assert not await h.delivery.offer(message(1))
    await h.delivery.offer(message(2))
    await h.delivery.offer(message(2))
    assert h.seqs() == [1, 2]


async def test_a_message_below_the_subscription_cursor_is_not_sent():
    h = Harness(stored=5)
    h.delivery.start(CHAT, 4)
    assert not await h.delivery.offer(message(4))
    await h.delivery.offer(message(5))
    assert h.seqs() == [5]


async def test_first_live_message_ahead_of_a_missing_one_waits_for_it():
    """The socket's first message is not taken as its starting point: the one before it still comes."""
    h = Harness(stored=6)
    h.delivery.start(CHAT, 4)
    await h.delivery.offer(message(6))  # e.g. the socket's own send, answered directly
    await h.delivery.offer(message(5))  # another sender's, broadcast a moment later
    assert h.seqs() == [5, 6]


async def test_a_gap_that_outlives_the_wait_is_repaired_from_the_database():
    h = Harness(stored=4)
    h.delivery.start(CHAT, 1)
    await h.delivery.offer(message(4))
    await settle()
    assert h.seqs() == [2, 3, 4]
    assert h.fetches == [(CHAT, 1, 3)]


async def test_a_seq_the_database_lacks_is_skipped_not_awaited():
    h = Harness(stored=4)
    del h.stored[3]
    h.delivery.start(CHAT, 1)
    await h.delivery.offer(message(4))
    await settle()
    assert h.seqs() == [2, 4]


async def test_repair_timer_is_cancelled_when_the_gap_fills_in_time():
    h = Harness(stored=3)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(2))
    await h.delivery.offer(message(1))
    await settle()
    assert h.fetches == []
    assert h.seqs() == [1, 2]


async def test_held_messages_wait_for_release_then_go_in_order():
    h = Harness(stored=3, holding=True)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(2))
    await h.delivery.offer(message(1))
    await h.delivery.offer(message(3))
    assert h.sent == []
    await h.delivery.release()
    assert h.seqs() == [1, 2, 3]


async def test_resume_during_the_hold_replays_before_held_live_messages():
    h = Harness(stored=5, holding=True)
    h.delivery.start(CHAT, 3)
    await h.delivery.offer(message(4))
    assert await h.delivery.resume(CHAT, 1) == 3
    await h.delivery.release()
    await h.delivery.offer(message(5))
    assert h.seqs() == [2, 3, 4, 5]


async def test_late_resume_fills_only_what_the_socket_has_not_sent():
    """A resume after live delivery started never re-sends: 9..16 then 6..8, each once."""
    h = Harness(stored=16)
    h.delivery.start(CHAT, 8)
    for seq in range(9, 17):
        await h.delivery.offer(message(seq))
    assert await h.delivery.resume(CHAT, 5) == 16
    assert h.seqs() == [*range(9, 17), 6, 7, 8]
    assert h.fetches == [(CHAT, 5, 8)]


async def test_repeated_resume_replays_nothing_more():
    h = Harness(stored=10)
    h.delivery.start(CHAT, 10)
    for _ in range(50):
        await h.delivery.resume(CHAT, 0)
    assert h.seqs() == list(range(1, 11))
    assert h.fetches == [(CHAT, 0, 10)]


async def test_resume_from_a_cursor_within_what_was_sent_sends_nothing():
    h = Harness(stored=6)
    h.delivery.start(CHAT, 2)
    for seq in (3, 4, 5, 6):
        await h.delivery.offer(message(seq))
    await h.delivery.resume(CHAT, 4)
    assert h.seqs() == [3, 4, 5, 6]
    assert h.fetches == []


async def test_resume_ahead_of_the_socket_skips_what_the_client_already_has():
    h = Harness(stored=6)
    h.delivery.start(CHAT, 2)
    await h.delivery.offer(message(4))
    assert await h.delivery.resume(CHAT, 5) == 5
    await h.delivery.offer(message(6))
    assert h.seqs() == [6]


async def test_resume_too_far_back_asks_for_a_resync_once_without_reading_again():
    h = Harness(stored=30, limit=10)
    h.delivery.start(CHAT, 30)
    await h.delivery.resume(CHAT, 0)
    await h.delivery.resume(CHAT, 0)
    assert h.sent == [("resync_required", {"chat_id": CHAT}), ("resync_required", {"chat_id": CHAT})]
    assert len(h.fetches) == 1


async def test_too_many_waiting_messages_resync_and_continue_from_the_newest():
    h = Harness(limit=3, holding=True)
    h.delivery.start(CHAT, 0)
    for seq in (5, 6, 7, 8):
        h.store(seq)
        await h.delivery.offer(message(seq))
    await h.delivery.release()
    assert h.sent == [("resync_required", {"chat_id": CHAT}), ("new_message", 8)]
    assert h.delivery.pending_count() == 0


async def test_chats_are_independent():
    h = Harness()
    h.delivery.start(1, 0)
    h.delivery.start(2, 0)
    await h.delivery.offer(message(2, chat_id=1))
    await h.delivery.offer(message(1, chat_id=2))
    assert h.seqs() == [1]
    await h.delivery.offer(message(1, chat_id=1))
    assert h.seqs() == [1, 1, 2]


async def test_stopped_chat_drops_its_messages_and_timer():
    h = Harness(stored=3)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(3))
    h.delivery.stop(CHAT)
    await settle()
    assert not await h.delivery.offer(message(1))
    assert h.sent == []
    assert h.fetches == []
    assert h.delivery.cursor(CHAT) is None


async def test_unknown_chat_resume_is_none():
    h = Harness()
    assert await h.delivery.resume(99, 0) is None


@pytest.mark.parametrize("order", [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [2, 1, 4, 3, 5], [3, 5, 1, 4, 2]])
async def test_any_arrival_order_with_duplicates_comes_out_once_in_order(order):
    h = Harness(stored=5)
    h.delivery.start(CHAT, 0)
    for seq in order + order:
        await h.delivery.offer(message(seq))
    await settle()
    assert h.seqs() == [1, 2, 3, 4, 5]


async def test_release_after_sends_held_messages_once_the_time_has_passed():
    h = Harness(stored=1, holding=True)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(1))
    h.delivery.release_after(WAIT)
    assert h.seqs() == []
    await settle()
    assert h.seqs() == [1]
    assert not h.delivery.holding


async def test_release_before_the_timer_sends_at_once_and_the_timer_sends_nothing_more():
    h = Harness(stored=1, holding=True)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(1))
    h.delivery.release_after(WAIT)
    await h.delivery.release()
    assert h.seqs() == [1]
    await settle()
    assert h.sent == [("new_message", 1)]


async def test_close_stops_the_release_timer():
    h = Harness(stored=1, holding=True)
    h.delivery.start(CHAT, 0)
    await h.delivery.offer(message(1))
    h.delivery.release_after(WAIT)
    h.delivery.close()
    await settle()
    assert h.seqs() == []
    assert h.delivery.holding


# --- offer_now: the local fan-out's synchronous case ------------------------------------------------


class Wire:
    """offer_now's `write`: records the seqs it was asked to write, or refuses them all."""

    def __init__(self, h: Harness, accepting: bool = True):
        self.h, self.accepting = h, accepting

    def writer(self, seq: int):
        def write() -> bool:
            if self.accepting:
                self.h.sent.append(("new_message", seq))
            return self.accepting

        return write


async def test_offer_now_writes_the_next_seq_and_moves_the_cursor():
    h = Harness()
    wire = Wire(h)
    h.delivery.start(CHAT, 4)
    assert h.delivery.offer_now(CHAT, 5, wire.writer(5))
    assert h.delivery.offer_now(CHAT, 6, wire.writer(6))
    assert h.seqs() == [5, 6]
    assert h.delivery.cursor(CHAT) == 6
    # A later offer of the same seq (the socket's own send answered directly) is a duplicate.
    assert not await h.delivery.offer(message(6))
    assert h.seqs() == [5, 6]


@pytest.mark.parametrize("seq", [3, 4, 6])
async def test_offer_now_leaves_anything_but_the_next_seq_to_offer(seq):
    h = Harness()
    h.delivery.start(CHAT, 4)
    assert not h.delivery.offer_now(CHAT, seq, Wire(h).writer(seq))
    assert h.sent == []
    assert h.delivery.cursor(CHAT) == 4


async def test_offer_now_refuses_an_unknown_chat_a_hold_and_waiting_messages():
    h = Harness(holding=True)
    wire = Wire(h)
    h.delivery.start(CHAT, 0)
    assert not h.delivery.offer_now(CHAT + 1, 1, wire.writer(1))
    assert not h.delivery.offer_now(CHAT, 1, wire.writer(1))  # held until the client's first frame
    await h.delivery.release()
    await h.delivery.offer(message(3))  # waits for 2 (and 1)
    assert not h.delivery.offer_now(CHAT, 1, wire.writer(1))  # would leave 3 waiting behind it
    h.delivery.close()
    assert h.sent == []


async def test_offer_now_refuses_while_a_handler_holds_the_lock():
    h = Harness()
    h.delivery.start(CHAT, 0)
    async with h.delivery._lock:
        assert not h.delivery.offer_now(CHAT, 1, Wire(h).writer(1))
    assert h.delivery.cursor(CHAT) == 0


async def test_offer_now_leaves_the_cursor_when_the_write_is_refused():
    h = Harness()
    h.delivery.start(CHAT, 0)
    assert not h.delivery.offer_now(CHAT, 1, Wire(h, accepting=False).writer(1))
    assert h.delivery.cursor(CHAT) == 0
    assert await h.delivery.offer(message(1))  # the ordinary path then sends it
    assert h.seqs() == [1]
