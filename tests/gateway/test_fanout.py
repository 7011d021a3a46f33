"""The fan-out: frames built once, the same bytes to every subscriber, one write per flush.

No event loop: the fan-out's end-of-iteration flush goes through a scheduler the test
holds, and the test runs it by hand."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.bus import StreamMessage
from tickerplant.gateway.fanout import FanOut, combined_prefix, control_frame, text_frame
from tickerplant.market.demand import Subscribed


class Connection:
    """A subscriber that records each write it is given."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.writes: list[list[bytes]] = []

    def flush(self) -> None:
        self.writes.append(list(self.pending))
        self.pending.clear()


class Loop:
    """The end of a loop iteration, run by hand."""

    def __init__(self) -> None:
        self.scheduled: list[Callable[[], None]] = []

    def call_soon(self, callback: Callable[[], None]) -> None:
        self.scheduled.append(callback)

    def end_iteration(self) -> None:
        scheduled, self.scheduled = self.scheduled, []
        for callback in scheduled:
            callback()


def test_frames_follow_rfc6455_lengths() -> None:
    assert text_frame(b"x") == b"\x81\x01x"
    assert text_frame(b"a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"a" * 70000)[:10] == b"\x81\x7f" + (70000).to_bytes(8, "big")
    assert control_frame(0x9, b"123") == b"\x89\x03123"


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.sampled_from([0, 1, 86, 87, 88, 200, 65_495, 65_496, 65_497, 70_000]), max_size=4))
def test_a_combined_frame_is_the_wrapped_payload_in_one_text_frame_at_every_length(sizes: list[int]) -> None:
    # The wrapper `{"stream":"btcusdt@bookTicker","data":` and `}` add 39 bytes: payloads
    # of 87 and 65,497 bytes are where the frame's length field changes form (§5.2).
    loop = Loop()
    fanout = FanOut(loop.call_soon)
    connection = Connection()
    name = "btcusdt@bookTicker"
    fanout.add(connection, name, name, combined=True)
    payloads = [b"x" * size for size in sizes]
    fanout.publish([StreamMessage(name, payload) for payload in payloads])
    loop.end_iteration()
    expected = b"".join(text_frame(combined_prefix(name) + payload + b"}") for payload in payloads)
    assert b"".join(b"".join(write) for write in connection.writes) == expected


def test_one_frame_object_for_every_raw_subscriber_and_one_flush_per_iteration() -> None:
    loop = Loop()
    fanout = FanOut(loop.call_soon)
    connections = [Connection() for _ in range(5)]
    for connection in connections:
        fanout.add(connection, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=False)
    fanout.publish([StreamMessage("btcusdt@bookTicker", b'{"u":1}'), StreamMessage("other", b"{}")])
    fanout.publish([StreamMessage("btcusdt@bookTicker", b'{"u":2}')])
    loop.end_iteration()
    assert all(len(connection.writes) == 1 and len(connection.writes[0]) == 1 for connection in connections)
    first = connections[0].writes[0][0]
    assert all(connection.writes[0][0] is first for connection in connections), "one joined bytes object for all"
    assert first == text_frame(b'{"u":1}') + text_frame(b'{"u":2}')


def test_a_users_events_are_written_at_once_and_the_market_waits_for_the_iterations_end() -> None:
    """``flush_streams`` (the user data drain, inside the journal's commit): the events of
    a listen key go to its connections now, once; the market's data waits for the flush."""
    loop = Loop()
    fanout = FanOut(loop.call_soon)
    user, market, both = Connection(), Connection(), Connection()
    fanout.add(user, "key1", "key1", combined=False)
    fanout.add(both, "key1@ORDER_TRADE_UPDATE", "key1@ORDER_TRADE_UPDATE", combined=True)
    fanout.add(market, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=False)
    fanout.add(both, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=False)
    fanout.publish([StreamMessage("btcusdt@bookTicker", b'{"u":1}')])
    fanout.publish([StreamMessage("key1", b'{"e":1}'), StreamMessage("key1@ORDER_TRADE_UPDATE", b'{"e":1}')])
    fanout.flush_streams(["key1", "key1@ORDER_TRADE_UPDATE", "no such stream"])
    assert user.writes == [[text_frame(b'{"e":1}')]] and market.writes == []
    wrapped = combined_prefix("key1@ORDER_TRADE_UPDATE") + b'{"e":1}}'
    assert both.writes == [[text_frame(wrapped)]]  # streams are not ordered among each other
    loop.end_iteration()
    assert user.writes == [[text_frame(b'{"e":1}')]]  # not twice
    assert market.writes == [[text_frame(b'{"u":1}')]] and both.writes[1:] == market.writes
    assert fanout.sent["key1"] == [1, len(text_frame(b'{"e":1}'))]


def test_combined_wrapper_is_built_once_per_subscribed_name() -> None:
    loop = Loop()
    fanout = FanOut(loop.call_soon)
    a, b, c = Connection(), Connection(), Connection()
    fanout.add(a, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=True)
    fanout.add(b, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=True)
    fanout.add(c, "btcusdt@bookTicker", "BTCUSDT@bookTicker", combined=True)
    fanout.publish([StreamMessage("btcusdt@bookTicker", b'{"u":1}')])
    loop.end_iteration()
    assert a.writes[0][0] is b.writes[0][0]
    assert a.writes[0][0] == text_frame(b'{"stream":"btcusdt@bookTicker","data":{"u":1}}')
    assert c.writes[0][0] == text_frame(b'{"stream":"BTCUSDT@bookTicker","data":{"u":1}}')


def test_removing_routes_stops_delivery() -> None:
    loop = Loop()
    fanout = FanOut(loop.call_soon)
    connection = Connection()
    fanout.add(connection, "k", "k", combined=False)
    fanout.add(connection, "k", "K", combined=False)  # two names delivering one stream: two copies
    fanout.publish([StreamMessage("k", b"1")])
    loop.end_iteration()
    fanout.remove(connection, "k", "K", combined=False)
    fanout.publish([StreamMessage("k", b"2")])
    loop.end_iteration()
    fanout.remove(connection, "k", "k", combined=False)
    fanout.publish([StreamMessage("k", b"3")])
    loop.end_iteration()
    assert connection.writes == [[text_frame(b"1"), text_frame(b"1")], [text_frame(b"2")]]


def test_replies_go_out_before_the_data_of_the_same_iteration() -> None:
    loop = Loop()
    fanout = FanOut(loop.call_soon)
    connection = Connection()
    fanout.add(connection, "k", "k", combined=False)
    fanout.add(connection, "k", "K", combined=False)  # two names delivering one stream: two copies
    fanout.publish([StreamMessage("k", b"1")])
    fanout.queue(connection, b"reply")
    loop.end_iteration()
    assert connection.writes == [[b"reply", text_frame(b"1"), text_frame(b"1")]]


def test_publishing_schedules_one_flush_per_iteration_and_nothing_for_unrouted_streams() -> None:
    loop = Loop()
    fanout = FanOut(loop.call_soon)
    connection = Connection()
    fanout.add(connection, "k", "k", combined=False)
    fanout.publish([StreamMessage("nobody", b"0")])
    assert loop.scheduled == []  # no route, no flush
    fanout.publish([StreamMessage("k", b"1")])
    fanout.publish([StreamMessage("k", b"2")])
    fanout.queue(connection, b"reply")
    assert len(loop.scheduled) == 1
    assert connection.writes == []  # nothing goes out before the iteration ends
    loop.end_iteration()
    assert connection.writes == [[b"reply", text_frame(b"1") + text_frame(b"2")]]
    fanout.publish([StreamMessage("k", b"3")])
    assert len(loop.scheduled) == 1  # the next iteration gets its own flush
    loop.end_iteration()
    assert connection.writes[-1] == [text_frame(b"3")]


def test_a_stream_is_held_in_the_demand_while_some_route_of_some_listener_has_it() -> None:
    loop = Loop()
    demand = Subscribed()
    um, cm = FanOut(loop.call_soon, demand), FanOut(loop.call_soon, demand)
    a, b = Connection(), Connection()
    um.add(a, "!ticker@arr", "!ticker@arr", combined=False)
    um.add(b, "!ticker@arr", "!ticker@arr", combined=True)  # another framing of the same stream
    um.add(b, "!ticker@arr", "!ticker@arr", combined=True)  # and the same name twice
    cm.add(a, "!ticker@arr", "!ticker@arr", combined=False)  # the other listener's clients
    assert demand == {"!ticker@arr": 2}, "one hold per listener that routes it"
    um.remove(a, "!ticker@arr", "!ticker@arr", combined=False)
    um.remove(b, "!ticker@arr", "!ticker@arr", combined=True)
    assert demand == {"!ticker@arr": 2}, "b still holds it once on the UM listener"
    um.remove(b, "!ticker@arr", "!ticker@arr", combined=True)
    assert demand == {"!ticker@arr": 1}
    cm.remove(a, "!ticker@arr", "!ticker@arr", combined=False)
    assert "!ticker@arr" not in demand and not demand
    um.remove(a, "!ticker@arr", "!ticker@arr", combined=False)  # not held: nothing to let go
    assert not demand
