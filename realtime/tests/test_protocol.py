"""realtime.protocol.event_types against asyncapi.yaml and the consumer: one list of events, documented and handled."""

from pathlib import Path

import yaml
from channels.consumer import get_handler_name

from realtime.protocol.event_types import EVENTS, ClientCommand, Reply, ServerEvent, layer_type
from realtime.socket.commands import Commands
from realtime.socket.consumer import ChatConsumer

ROOT = Path(__file__).resolve().parents[2]


def documented_frames(operation: str) -> set[str]:
    doc = yaml.safe_load((ROOT / "realtime" / "asyncapi.yaml").read_text())
    keys = [ref["$ref"].rsplit("/", 1)[1] for ref in doc["operations"][operation]["messages"]]
    return {doc["components"]["messages"][key]["name"] for key in keys}


def documented_server_frames() -> set[str]:
    return documented_frames("serverSends")


def test_client_commands_are_exactly_the_documented_client_frames():
    assert documented_frames("clientSends") == {command.value for command in ClientCommand}


def test_commands_have_one_method_per_client_command():
    assert set(Commands(socket=None).handlers) == set(ClientCommand)  # type: ignore[arg-type]


def test_protocol_lists_every_server_event_once():
    assert set(EVENTS) == set(ServerEvent)
    assert all(spec.event is event for event, spec in EVENTS.items())


def test_every_event_that_reaches_clients_is_documented_in_asyncapi():
    frames = {event.value for event, spec in EVENTS.items() if spec.frame}
    assert frames - documented_server_frames() == set()


def test_every_documented_server_frame_is_an_event_or_a_direct_reply():
    known = {event.value for event, spec in EVENTS.items() if spec.frame} | {reply.value for reply in Reply}
    assert documented_server_frames() - known == set()


def test_control_events_are_not_documented_as_frames():
    control = {event.value for event, spec in EVENTS.items() if not spec.frame}
    assert control & documented_server_frames() == set()


def test_consumer_has_one_handler_per_event():
    missing = [
        e
        for e in ServerEvent
        if not callable(getattr(ChatConsumer, get_handler_name({"type": layer_type(e)}), None))
    ]
    assert missing == []


def test_only_realtime_events_calls_group_send():
    callers = sorted(
        str(path.relative_to(ROOT))
        for app in ("accounts", "chats", "messaging", "realtime", "chatproject")
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and "group_send(" in path.read_text()
    )
    assert callers == ["realtime/broadcast.py"]
