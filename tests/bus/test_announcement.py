"""A gateway's announcement of its streams (``bus/demand.py``): its bytes, the announcements
that are refused (malformed, another version's, over their bounds) and the pacing of a
gateway's announcements, time passed in."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.bus.demand import (
    MOST_NAMES,
    NAME_CHARS,
    Announcement,
    Pacing,
    Unreadable,
    decode_announcement,
    encode_announcement,
)
from tickerplant.bus.frames import BUS_VERSION


def test_an_announcement_is_the_version_the_gateway_and_its_names_in_msgpack() -> None:
    data = encode_announcement(7, ["btcusdt@depth@100ms", "btcusdt@kline_1m"])
    assert msgspec.msgpack.decode(data) == [BUS_VERSION, 7, ["btcusdt@depth@100ms", "btcusdt@kline_1m"]]
    assert decode_announcement(data) == Announcement(BUS_VERSION, 7, ["btcusdt@depth@100ms", "btcusdt@kline_1m"])


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x00garbage", "not a demand announcement"),
        (msgspec.msgpack.encode([BUS_VERSION, 7]), "not a demand announcement"),
        (msgspec.msgpack.encode([BUS_VERSION, "seven", []]), "Expected `int`"),
        (msgspec.msgpack.encode([BUS_VERSION, 7, [1, 2]]), "Expected `str`"),
        (msgspec.msgpack.encode([BUS_VERSION, 7, "btcusdt@trade"]), "Expected `array`"),
        (msgspec.msgpack.encode([BUS_VERSION + 1, 7, []]), f"bus version {BUS_VERSION + 1}"),
        (msgspec.msgpack.encode([BUS_VERSION, 7, ["a@trade"] * (MOST_NAMES + 1)]), "length <= 30000"),
        (msgspec.msgpack.encode([BUS_VERSION, 7, ["a" * (NAME_CHARS + 1)]]), "length <= 100"),
    ],
    ids=["garbage", "short", "gateway", "names", "not-a-list", "version", "too-many", "too-long"],
)
def test_what_is_not_an_announcement_of_this_version_within_its_bounds_is_unreadable(data: bytes, why: str) -> None:
    with pytest.raises(Unreadable, match=why):
        decode_announcement(data)


@given(
    st.one_of(
        st.binary(max_size=200),
        st.builds(
            msgspec.msgpack.encode,
            st.lists(
                st.one_of(
                    st.integers(-(2**63), 2**64 - 1), st.text(max_size=20), st.none(),
                    st.lists(st.one_of(st.text(max_size=120), st.integers(0, 2**32)), max_size=5),
                ),
                max_size=4,
            ),
        ),
    )
)
def test_any_bytes_are_an_announcement_or_unreadable_never_another_error(data: bytes) -> None:
    try:
        announcement = decode_announcement(data)
    except Unreadable:
        return
    assert announcement.version == BUS_VERSION
    assert all(isinstance(name, str) and len(name) <= NAME_CHARS for name in announcement.names)


def test_the_bounds_themselves_read() -> None:
    names = ["a" * NAME_CHARS] * MOST_NAMES
    assert decode_announcement(encode_announcement(1, names)).names == names


def test_pacing_lets_a_burst_go_at_once_then_one_an_interval() -> None:
    pacing = Pacing(interval_ms=25, burst=4)
    when = []
    now = 1000
    for _ in range(7):  # seven changes at once, each announced as soon as it may go
        at = pacing.earliest_ms(now)
        pacing.sent(at)
        when.append(at)
    assert when == [1000, 1000, 1000, 1000, 1025, 1050, 1075]


def test_pacing_is_whole_again_after_a_quiet_while() -> None:
    pacing = Pacing(interval_ms=25, burst=4)
    for _ in range(4):
        pacing.sent(1000)
    assert pacing.earliest_ms(1000) == 1025
    assert pacing.earliest_ms(1040) == 1040  # an interval on: one may go
    assert pacing.earliest_ms(2000) == 2000
    for _ in range(4):
        assert pacing.earliest_ms(2000) == 2000
        pacing.sent(2000)
    assert pacing.earliest_ms(2000) == 2025


def test_a_heartbeat_a_second_never_waits() -> None:
    pacing = Pacing(interval_ms=25, burst=4)
    for second in range(10):
        assert pacing.earliest_ms(1000 * second) == 1000 * second
        pacing.sent(1000 * second)
