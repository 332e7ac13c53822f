"""Error frames carry the REST error body (every member, `fields` included) with `error` named `message`."""

import json

from accounts.errors import UserNotFoundError
from chatproject.errors import RateLimitedError
from chats.errors import NotChatMemberError
from realtime.protocol import frames
from realtime.tests.wsclient import check_frame


def test_a_service_error_naming_fields_keeps_them_in_its_frame():
    error = UserNotFoundError("user not found: 7, 8", fields={"participants": ["7", "8"]})

    frame = json.loads(frames.encode("error", frames.domain_error_payload(error, "c-1")))

    assert frame == {
        "type": "error",
        "payload": {
            "message": "user not found: 7, 8",
            "code": "user_not_found",
            "fields": {"participants": ["7", "8"]},
            "client_id": "c-1",
        },
    }
    check_frame("server", frame)


def test_an_error_frame_is_the_rest_body_renamed_in_the_same_order():
    error = RateLimitedError(retry_after=3)

    text = frames.encode("error", frames.domain_error_payload(error, "c-1"))

    assert error.as_dict() == {"error": "rate limit exceeded", "code": "rate_limited", "retry_after": 3}
    assert text == (
        '{"type":"error","payload":{"message":"rate limit exceeded","code":"rate_limited",'
        '"retry_after":3,"client_id":"c-1"}}'
    )


def test_the_seed_words_a_non_member_differently_on_the_socket():
    payload = frames.domain_error_payload(NotChatMemberError(), client_id=None)

    assert NotChatMemberError().as_dict()["error"] == "user is not a member of the chat"
    assert payload == {"message": "you are not a member of this chat", "code": "not_chat_member"}
