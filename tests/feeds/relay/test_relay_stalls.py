"""A stalled upstream noticed by its silent mark price stream (``feeds/relay/stalls.py``), on a
manual clock: the sans-I/O watch, then the relay dropping the connection, which comes back
through the loss path (the book out of sync, the local clients closed)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from quiet_upstream import QuietUpstream, relay_over

from tickerplant.client.streams import RawMessage, StreamsLost
from tickerplant.clock import ManualClock
from tickerplant.feeds.relay.relay import UPSTREAM_LOST
from tickerplant.feeds.relay.stalls import SILENCE_MS, StallWatch
from tickerplant.market.instruments import Market

T0 = 1_767_225_600_000
MARK = "btcusdt@markPrice@1s"


def test_a_stream_is_watched_from_its_first_push_until_it_is_lost_or_found_silent() -> None:
    watch = StallWatch()
    assert watch.next_ms() == math.inf and watch.stalled(T0) == [], "nothing pushed yet: nothing watched"
    watch.heard(MARK, T0)
    watch.heard("!markPrice@arr", T0 + 500)
    assert watch.next_ms() == T0 + SILENCE_MS
    assert watch.stalled(T0 + SILENCE_MS - 1) == []
    watch.heard("!markPrice@arr", T0 + SILENCE_MS - 1)
    assert watch.stalled(T0 + SILENCE_MS) == [MARK]
    assert watch.stalled(T0 + 2 * SILENCE_MS) == ["!markPrice@arr"]
    assert watch.stalled(T0 + 9 * SILENCE_MS) == [], "each once: watched again from its next push"
    watch.heard(MARK, T0)
    watch.lost([MARK])
    assert watch.stalled(T0 + 9 * SILENCE_MS) == [], "lost: not watched until it pushes again"


def _mark(e: int) -> RawMessage:
    payload = b'{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT","p":"1.0","P":"1.0","i":"1.0","r":"0.0001","T":%d}'
    return RawMessage(MARK, payload % (e, T0 + 3_600_000), 0)


class StallingUpstream(QuietUpstream):
    """Pushes the marks it is given, then nothing, its socket open, until the relay drops it."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.items: asyncio.Queue[Any] = asyncio.Queue()
        self.dropped: list[tuple[int, tuple[str, ...]]] = []

    def reconnect(self, *names: str) -> int:
        self.dropped.append((self.clock.now_ms() - T0, names))
        self.items.put_nowait(StreamsLost(names, self.clock.now_ms()))
        self.items.put_nowait(None)  # and the test ends here
        return 1

    async def __aiter__(self) -> Any:
        while (item := await self.items.get()) is not None:
            yield item


async def test_a_silent_mark_stream_is_taken_for_a_stalled_upstream_and_reconnected() -> None:
    clock = ManualClock(T0)
    upstream = StallingUpstream(clock)
    log: list[tuple[str, Any]] = []

    class Sink:  # the relay's sink and its bus
        def __init__(self) -> None:
            self.bus = self

        def publish(self, market: Market, messages: Any) -> None:
            log.extend(("publish", m.stream) for m in messages)

        def interrupt(self, market: Market, streams: Any, reason: str) -> None:
            log.append(("interrupt", reason))
    relay = relay_over(upstream, ["markPrice@1s"], clock)
    await relay.prepare()
    running = asyncio.create_task(relay.run(Sink()))  # type: ignore[arg-type]
    for second in range(3):  # three pushes a second apart, then the upstream freezes
        upstream.items.put_nowait(_mark(T0 + second * 1000))
        await _turns()
        clock.advance(1000)
        await _turns()
    for _ in range(SILENCE_MS // 1000 - 2):
        clock.advance(1000)
        await _turns()
    assert upstream.dropped == [], "not before the bound"
    clock.advance(1000)
    await _turns()
    await asyncio.wait_for(running, 5)
    assert upstream.dropped == [(SILENCE_MS + 2000, (MARK,))], "the last push at 2 s, silent since"
    assert ("interrupt", UPSTREAM_LOST) in log and relay.losses[Market.UM] == 1


async def _turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)
