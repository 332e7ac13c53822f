"""autobahn's debug-log arguments are computed only when a debug line is written (chatproject.server.debug_logs)."""

import pprint

from autobahn import util
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol

from chatproject.server import debug_logs


def test_installed_log_arguments_are_deferred_and_format_as_autobahn_would():
    debug_logs.defer_debug_log_arguments()
    calls = []

    def counted(value):
        calls.append(value)
        return util.hlval(value)

    deferred = debug_logs.Deferred(counted, 42)
    assert calls == []  # nothing computed until formatted
    assert f"{deferred}" == util.hlval(42)
    assert calls == [42]
    assert format(
        protocol.hltype(test_installed_log_arguments_are_deferred_and_format_as_autobahn_would)
    ) == (util.hltype(test_installed_log_arguments_are_deferred_and_format_as_autobahn_would))
    assert str(twisted_websocket.hlval("peer")) == util.hlval("peer")
    assert str(protocol.pformat([("a", 1)])) == pprint.pformat([("a", 1)])


def test_timings_still_print_as_text():
    debug_logs.defer_debug_log_arguments()
    timings = protocol.Timings()
    timings.track("x")
    assert isinstance(str(timings), str)
    assert "'x'" in str(timings)


def test_install_twice_wraps_once():
    debug_logs.defer_debug_log_arguments()
    first = protocol.hltype
    debug_logs.defer_debug_log_arguments()
    assert protocol.hltype is first
