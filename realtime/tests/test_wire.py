# ruff: noqa: N815 - the attribute names are Twisted's and autobahn's
"""chatproject.server.wire.SocketWire on its own: when it writes a prepared frame, and how it hands it to Twisted.

The transport here records what Twisted would be asked to do; real Daphne processes run the real
thing in test_ordering_processes.py and test_transport_limits.py.
"""

from dataclasses import dataclass, field

import pytest
from autobahn.websocket.protocol import WebSocketProtocol

from chatproject.server.wire import SocketWire, prepare

FRAME = prepare("x" * 100)
BOUND = 512 * 1024


@dataclass
class Transport:
    """The fields of twisted.internet.tcp.Connection that SocketWire reads, and its two ways to send."""

    kernel_takes: int = 1 << 30  # how much of a frame writeSomeData gets into the kernel
    TLS: bool = False
    connected: bool = True
    disconnecting: bool = False
    dataBuffer: bytes = b""
    offset: int = 0
    _tempDataLen: int = 0
    sent: list[bytes] = field(default_factory=list)  # handed to the kernel at once
    buffered: list[bytes] = field(default_factory=list)  # handed to write(), for the event loop

    def writeSomeData(self, data: bytes) -> int:  # noqa: N802 - Twisted's name
        taken = bytes(data[: self.kernel_takes])
        if taken:
            self.sent.append(taken)
        return len(taken)

    def write(self, data: bytes) -> None:
        self.buffered.append(bytes(data))
        self._tempDataLen += len(data)


@dataclass
class TrafficStats:
    outgoingOctetsWireLevel: int = 0


@dataclass
class Protocol:
    transport: Transport = field(default_factory=Transport)
    state: int = WebSocketProtocol.STATE_OPEN
    _perMessageCompress: object = None
    send_queue: list = field(default_factory=list)
    trafficStats: TrafficStats = field(default_factory=TrafficStats)


@pytest.fixture(autouse=True)
def bound(chat_overrides):
    chat_overrides.WS_MAX_BUFFERED_BYTES = BOUND


def test_an_idle_socket_gets_the_frame_at_once():
    protocol = Protocol()
    assert SocketWire(protocol).write(FRAME)
    assert protocol.transport.sent == [FRAME]
    assert protocol.transport.buffered == []
    assert protocol.trafficStats.outgoingOctetsWireLevel == len(FRAME)


@pytest.mark.parametrize("taken", [0, 10])
def test_what_the_kernel_does_not_take_goes_to_twisted_in_order(taken):
    protocol = Protocol(transport=Transport(kernel_takes=taken))
    assert SocketWire(protocol).write(FRAME)
    assert b"".join(protocol.transport.sent + protocol.transport.buffered) == FRAME
    assert protocol.transport.buffered == [FRAME[taken:]]


def test_output_already_waiting_is_not_overtaken():
    protocol = Protocol(transport=Transport(dataBuffer=b"earlier", offset=2))
    assert SocketWire(protocol).write(FRAME)
    assert protocol.transport.sent == []
    assert protocol.transport.buffered == [FRAME]


def test_tls_goes_through_twisted_write():
    protocol = Protocol(transport=Transport(TLS=True))
    assert SocketWire(protocol).write(FRAME)
    assert protocol.transport.buffered == [FRAME]


@pytest.mark.parametrize(
    "change",
    [
        {"state": WebSocketProtocol.STATE_CLOSING},
        {"_perMessageCompress": object()},
        {"send_queue": [(b"queued", False)]},
        {"transport": Transport(_tempDataLen=BOUND - len(FRAME) + 1)},
    ],
    ids=["closing", "compressed", "autobahn_queue", "over_the_bound"],
)
def test_refused_when_the_ordinary_send_must_decide(change):
    protocol = Protocol(**change)
    assert not SocketWire(protocol).write(FRAME)
    assert protocol.transport.sent == []
    assert protocol.transport.buffered == []


def test_a_frame_that_just_fits_the_bound_is_written():
    protocol = Protocol(transport=Transport(_tempDataLen=BOUND - len(FRAME)))
    assert SocketWire(protocol).write(FRAME)
