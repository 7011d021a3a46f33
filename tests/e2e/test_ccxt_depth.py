"""ccxt.pro's `watch_order_book` kept against tickerplant's diff depth (spec §4.9, §10.1).

ccxt subscribes `<id>@depth@100ms`, waits for the acknowledgement, fetches `depth?limit=1000`
and then applies every event whose `U <= nonce` or `pu == nonce`; anything else raises
`ChecksumError` and drops its book. The tests drive a manual clock one 100 ms push at a
time, see each event the plant publishes on the bus for that stream, wait until ccxt's
book has applied it, and end, with the clock held still, comparing ccxt's whole book with
a REST snapshot at the same update id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import StartServer
from test_ccxt import coinm, exchanges, record, usdm
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

__all__ = ["exchanges"]  # the fixture, shared with test_ccxt

EVENTS = 200  # diff events ccxt must apply in a row
SPEED_MS = 100  # ccxt's default watchOrderBookRate
LIMIT = 1000  # ccxt's snapshot limit, and the depth of its book

CASES = {
    # market: (ccxt symbol, stream)
    Market.UM: ("BTC/USDT:USDT", "btcusdt@depth@100ms"),
    Market.CM: ("BTC/USD:BTC", "btcusd_perp@depth@100ms"),
}


def side(levels: Any) -> list[tuple[float, float]]:
    return [(float(price), float(qty)) for price, qty, *_ in levels]


def known(levels: list[tuple[float, float]], *cuts: list[tuple[float, float]], bids: bool) -> list[tuple[float, float]]:
    """``levels`` down to the shallowest cut: a side of 1,000 levels (a limit=1000 answer,
    or ccxt's first snapshot and its depth-1000 book) may stop short of the book's end, and
    ccxt cannot know a level deeper than its first snapshot that never changed since (so it
    is with Binance's books too). A side shorter than that is the whole side: today's
    simulated books are, and then the whole books are compared."""
    ends = [cut[-1][0] for cut in cuts if len(cut) >= LIMIT]
    if not ends:
        return levels
    end = max(ends) if bids else min(ends)
    return [level for level in levels if (level[0] >= end if bids else level[0] <= end)]


async def push(clock: ManualClock, plant: Tickerplant, market: Market) -> None:
    """Advance to the next 100 ms boundary and wait until the pump has published it."""
    clock.advance(SPEED_MS - clock.now_ms() % SPEED_MS)
    await eventually(lambda: plant.plants[market].next_tick_ms > clock.now_ms())


async def follow(exchange: Any, symbol: str, books: list[Any]) -> None:
    """Watch until cancelled; an error ccxt raises (a checksum or sequence failure, a
    failed snapshot) ends the task with it, so the test sees it."""
    while True:
        books.append(await exchange.watch_order_book(symbol))


@pytest.mark.parametrize(
    ("market", "lead_ms"),
    [
        (Market.UM, 30),  # the book moves before ccxt's snapshot: it lies inside an event (U <= id <= u)
        (Market.CM, 0),  # a quiet moment: the snapshot is the last push's u, ccxt syncs on pu == id
    ],
)
async def test_watch_order_book_stays_synced_and_equals_a_snapshot(
    start_server: StartServer, exchanges: list[Any], market: Market, lead_ms: int
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    symbol, stream = CASES[market]
    exchange = usdm(plant) if market is Market.UM else coinm(plant)
    exchanges.append(exchange)
    await exchange.load_markets()
    events = record(plant, market, stream)  # what the plant publishes on the stream
    await push(clock, plant, market)
    clock.advance(lead_ms)
    books: list[Any] = []
    watcher = asyncio.ensure_future(follow(exchange, symbol, books))
    try:
        # Subscribed, acknowledged, snapshot fetched: the first book, with the clock still.
        await eventually(lambda: bool(books) or watcher.done(), 10 * SECONDS)
        assert not watcher.done(), watcher.exception()
        book = books[0]
        first = {"bids": side(book["bids"]), "asks": side(book["asks"])}
        applied: list[int] = [book["nonce"]]
        async with asyncio.timeout(30 * SECONDS):
            while len(applied) <= EVENTS:
                seen = len(events)
                await push(clock, plant, market)
                if len(events) == seen:
                    continue  # the book did not move in these 100 ms: nothing is pushed (§4.9)
                event = events[-1]
                assert event["E"] == clock.now_ms()
                if len(applied) == 1:  # the first event ccxt applies after its snapshot
                    if lead_ms:
                        assert event["U"] <= book["nonce"] <= event["u"]
                    else:
                        assert event["pu"] == book["nonce"]
                await eventually(lambda u=event["u"]: book["nonce"] == u or watcher.done())
                assert not watcher.done(), watcher.exception()
                applied.append(book["nonce"])
        assert exchange.orderbooks[symbol] is book, "ccxt never dropped and rebuilt its book"

        snapshot = await exchange.fetch_order_book(symbol, LIMIT)  # the clock is still: the same id
    finally:
        watcher.cancel()
    book.limit()  # ccxt sorts its sides into the lists when a watch returns: do it for the last event
    assert snapshot["nonce"] == book["nonce"] == events[-1]["u"]
    for name in ("bids", "asks"):
        held, answered = side(book[name]), side(snapshot[name])
        cuts = (held, answered, first[name])
        assert known(held, *cuts, bids=name == "bids") == known(answered, *cuts, bids=name == "bids"), name
