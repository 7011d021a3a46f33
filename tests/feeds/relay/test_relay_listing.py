"""What the relay lists (``feeds/relay/listing.py``): exchangeInfo asked again on the
relay's own clock while the upstream cannot be reached, driven here by a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from tickerplant.clock import ManualClock
from tickerplant.feeds.relay.relay import RelaySource
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.payloads.exchange_info import exchange_info

T0 = 1_767_225_600_000


async def _turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_exchange_info_is_asked_again_when_the_relays_clock_says() -> None:
    """The wait between two attempts is the relay's clock's, as its stall watch's and its
    snapshots' are: 30 s of a manual clock pass in no real time, and not one ms less. On
    real time, a relay on a driven clock retried on the wall's seconds."""
    clock = ManualClock(T0)
    listed = exchange_info(Market.UM, [i for i in catalogue(Market.UM, T0) if i.symbol == "BTCUSDT"], T0, 2400)
    asked: list[int] = []

    async def fetch(url: str) -> bytes:
        asked.append(clock.now_ms())
        if len(asked) == 1:
            raise OSError("connection refused")
        return listed

    def delays() -> Iterator[float]:
        return iter([30.0] * 10)

    relay = RelaySource(
        {Market.UM: "ws://unused"}, symbols=["BTCUSDT"], clock=clock, fetch=fetch, fetch_delays=delays,
    )  # fmt: skip
    preparing = asyncio.create_task(relay.prepare())
    try:
        await _turns()
        assert asked == [T0]
        assert clock.next_due_ms == T0 + 30_000, "waiting on the relay's clock"
        clock.advance(29_999)
        await _turns()
        assert asked == [T0], "not before its time"
        clock.advance(1)
        async with asyncio.timeout(10):
            prepared = await preparing
    finally:
        preparing.cancel()
    assert asked == [T0, T0 + 30_000]
    assert [i.symbol for i in prepared.instruments[Market.UM]] == ["BTCUSDT"]
