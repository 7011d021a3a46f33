"""Connection limits on an injected clock: a day of connection life in a millisecond."""

from __future__ import annotations

from tickerplant.clock import ManualClock
from tickerplant.protocol.errors import CLOSE_LIFETIME, CLOSE_PONG_TIMEOUT, CLOSE_TOO_MANY_REQUESTS
from tickerplant.protocol.limits import ConnectionLimits, ConnectionRules, Due, LimitState

MINUTE = 60_000


def test_defaults_are_binance_documented_values() -> None:
    rules = ConnectionRules()
    assert (rules.ping_interval_ms, rules.pong_timeout_ms) == (3 * MINUTE, 10 * MINUTE)
    assert (rules.max_age_ms, rules.max_incoming_rate) == (24 * 60 * MINUTE, 10)


def test_a_polite_client_lives_24_hours_and_is_then_closed() -> None:
    clock = ManualClock()
    limits = ConnectionLimits(ConnectionRules(), clock.now_ms())
    pings = 0
    while True:
        clock.set(limits.next_deadline_ms)
        due = limits.poll(clock.now_ms())
        if due.close is not None:
            break
        if due.send_ping:
            pings += 1
            limits.on_pong(clock.now_ms() + 50)
    assert due.close == CLOSE_LIFETIME
    assert clock.now_ms() - ManualClock().now_ms() == 24 * 60 * MINUTE
    assert pings == 24 * 60 // 3 - 1  # every 3 minutes, the last one due at the 24 h mark closes instead
    assert limits.state is LimitState.CLOSED
    assert limits.poll(clock.now_ms() + 1) == Due()


def test_no_pong_for_10_minutes_closes_after_pings() -> None:
    clock = ManualClock()
    limits = ConnectionLimits(ConnectionRules(), clock.now_ms())
    events = []
    while limits.state is LimitState.OPEN:
        clock.set(limits.next_deadline_ms)
        events.append((clock.now_ms() - ManualClock().now_ms(), limits.poll(clock.now_ms())))
    assert [t for t, due in events if due.send_ping] == [3 * MINUTE, 6 * MINUTE, 9 * MINUTE]
    assert events[-1] == (10 * MINUTE, Due(close=CLOSE_PONG_TIMEOUT))


def test_unsolicited_pongs_keep_a_connection_alive() -> None:
    clock = ManualClock()
    limits = ConnectionLimits(ConnectionRules(), clock.now_ms())
    for _ in range(10):  # a pong every 9 minutes, never answering a ping on time
        clock.advance(9 * MINUTE)
        assert limits.poll(clock.now_ms()).close is None
        limits.on_pong(clock.now_ms())


def test_eleven_messages_in_a_second_close_with_1008() -> None:
    clock = ManualClock()
    limits = ConnectionLimits(ConnectionRules(), clock.now_ms())
    for _ in range(10):
        assert limits.on_incoming(clock.now_ms()) is None
        clock.advance(90)
    assert limits.on_incoming(clock.now_ms()) == CLOSE_TOO_MANY_REQUESTS
    assert CLOSE_TOO_MANY_REQUESTS == (1008, "Too many requests")


def test_ten_messages_a_second_forever_is_fine() -> None:
    clock = ManualClock()
    limits = ConnectionLimits(ConnectionRules(), clock.now_ms())
    for _ in range(10_000):
        assert limits.on_incoming(clock.now_ms()) is None
        clock.advance(100)


def test_six_pings_or_pongs_in_a_second_close_a_ws_api_connection() -> None:
    """The WebSocket API's own rule (trading part 1 §8.2): at most 5 pings and pongs a
    second, counted apart from the streams' 10 messages."""
    clock = ManualClock()
    limits = ConnectionLimits(ConnectionRules(), clock.now_ms())
    for _ in range(20):  # 5 a second: fine for as long as it lasts
        assert limits.on_control(clock.now_ms()) is None
        clock.advance(200)
    clock.advance(1_000)
    for _ in range(5):
        assert limits.on_control(clock.now_ms()) is None
        clock.advance(10)
    assert limits.on_control(clock.now_ms()) == CLOSE_TOO_MANY_REQUESTS
    assert limits.state is LimitState.CLOSED


def test_limits_shrink() -> None:
    clock = ManualClock()
    rules = ConnectionRules(ping_interval_ms=100, pong_timeout_ms=250, max_age_ms=1000, max_incoming_rate=2)
    limits = ConnectionLimits(rules, clock.now_ms())
    assert limits.next_deadline_ms - clock.now_ms() == 100
    assert limits.on_incoming(clock.now_ms()) is None
    assert limits.on_incoming(clock.now_ms()) is None
    assert limits.on_incoming(clock.now_ms()) == CLOSE_TOO_MANY_REQUESTS
