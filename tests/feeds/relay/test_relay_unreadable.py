"""Unreadable upstream frames (``feeds/relay/unreadable.py``): passed over, counted, and said
in the log at most once per interval with how many, whatever the upstream sends."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
import pytest
from quiet_upstream import QuietUpstream, relay_over

from tickerplant.client.streams import RawMessage
from tickerplant.clock import ManualClock
from tickerplant.feeds.relay.unreadable import UNREADABLE_LOG_MS, Unreadable
from tickerplant.market.instruments import Market

T0 = 1_767_225_600_000


def test_one_line_per_interval_with_the_count_since_the_last() -> None:
    unreadable = Unreadable()
    assert unreadable.note(T0) == 1, "the first is said at once"
    assert [unreadable.note(T0 + ms) for ms in (1, 2, UNREADABLE_LOG_MS - 1)] == [None, None, None]
    assert unreadable.note(T0 + UNREADABLE_LOG_MS) == 4, "the three held, and this one"
    assert unreadable.total == 5


class BrokenUpstream(QuietUpstream):
    """``RawStreams``' surface handing out its script; an exception in it is raised in its
    place, as ``RawStreams`` raises a frame it could not take apart, and iteration goes on;
    bytes in it are a frame off the combined form, counted in ``passed_over`` and not handed
    out, as ``RawStreams`` counts them."""

    def __init__(self, script: list[Any], clock: ManualClock) -> None:
        super().__init__()
        self.script = script
        self.clock = clock

    def __aiter__(self) -> BrokenUpstream:
        return self

    async def __anext__(self) -> Any:
        while self.script:
            self.clock.advance(1000)  # a second between frames
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            if isinstance(item, bytes):
                self.passed_over = (self.passed_over[0] + 1, item)
                await asyncio.sleep(0)  # the relay's other tasks run between frames
                continue
            return item
        raise StopAsyncIteration


async def test_unreadable_frames_are_passed_over_counted_and_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(T0)
    trade = RawMessage("btcusdt@trade", b'{"e":"trade"}', 0)
    bad_depth = RawMessage("btcusdt@depth@100ms", b'{"e":"depthUpdate","U":"not a number"}', 0)
    broken = msgspec.DecodeError("not the combined form")
    script: list[Any] = [broken, trade, bad_depth, *([broken] * 20), trade]
    published: list[str] = []

    class Sink:
        def __init__(self) -> None:
            self.bus = self

        def publish(self, market: Market, messages: Any) -> None:
            published.extend(m.stream for m in messages)

        def interrupt(self, market: Market, streams: Any, reason: str) -> None:
            pass

    relay = relay_over(BrokenUpstream(script, clock), ["trade", "depth@100ms"], clock, refuse_snapshots=True)
    await relay.prepare()
    with caplog.at_level(logging.WARNING, "tickerplant.relay"):
        await relay.run(Sink())  # type: ignore[arg-type]
    assert published.count("btcusdt@trade") == 2, "the frames after an unreadable one go on"
    assert relay.unreadable[Market.UM].total == 22
    said = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    # a frame a second: said at the first (1 s), then at 11 s (the 9 from 3 s on) and 21 s
    # (10); the two at 22 s and 23 s wait for a line, and are in the total meanwhile
    assert [line.split(": ", 1)[1].split(" upstream")[0] for line in said] == ["1", "9", "10"], said


async def test_frames_off_the_combined_form_are_counted_and_logged_with_the_unreadable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A frame the reader hands out neither as data nor as a reply (a raw event, an unusually
    spaced combined frame, a frame that is not JSON) is not relayed: the relay counts it with
    the unreadable frames and says it in the same paced line, which names its start. They
    were dropped unsaid."""
    clock = ManualClock(T0)
    trade = RawMessage("btcusdt@trade", b'{"e":"trade"}', 0)
    raw = b'{"e":"trade","E":1,"s":"BTCUSDT"}'  # a raw stream's frame, not the combined form
    script: list[Any] = [raw, b"not json", raw, trade]
    relay = relay_over(BrokenUpstream(script, clock), ["trade"], clock)
    await relay.prepare()
    with caplog.at_level(logging.WARNING, "tickerplant.relay"):
        await relay.run(_Sink())  # type: ignore[arg-type]
    assert relay.unreadable[Market.UM].total == 3
    assert relay.unreadable_counts() == {Market.UM: 3}, "the relayed markets' alone"
    said = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    # looked at once a second of the relay's clock (a frame a second here): the first two at
    # the first look, said at once; the third at the end, within 10 s of that line, held
    assert said == ["um: 2 upstream frames unreadable, passed over (2 in all); the last: b'not json'"]


class _Sink:
    def __init__(self) -> None:
        self.bus = self

    def publish(self, market: Market, messages: Any) -> None:
        pass

    def interrupt(self, market: Market, streams: Any, reason: str) -> None:
        pass


