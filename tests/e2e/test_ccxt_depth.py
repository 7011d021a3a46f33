"""ccxt.pro's `watch_order_book` kept against tickerplant's diff depth (spec §4.9, §10.1).

ccxt subscribes `<id>@depth@100ms` (with `rpi` on USDⓈ-M, `<id>@rpiDepth@500ms`, §4.11),
waits for the acknowledgement, fetches `depth?limit=1000` and then applies every event
whose `U <= nonce` or `pu == nonce`; anything else raises `ChecksumError` and drops its
book. The tests drive a manual clock one push of the speed at a time, see each event the
plant publishes on the bus for that stream, wait until ccxt's book has applied it, and
end, with the clock held still, comparing ccxt's whole book with a REST snapshot (with
`rpi`, `GET /fapi/v1/rpiDepth`) at the same update id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import StartServer
from test_ccxt import coinm, exchanges, record, usdm
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

__all__ = ["exchanges"]  # the fixture, shared with test_ccxt

LIMIT = 1000  # ccxt's snapshot limit, and the depth of its book


@dataclass(frozen=True)
class Case:
    market: Market
    symbol: str  # ccxt's
    stream: str  # what ccxt subscribes
    speed_ms: int
    lead_ms: int  # how far the book moves past a push before ccxt subscribes
    events: int  # diff events ccxt must apply in a row
    params: dict[str, Any] = field(default_factory=dict)


CASES = [
    # The book moves before ccxt's snapshot: it lies inside an event (U <= id <= u).
    Case(Market.UM, "BTC/USDT:USDT", "btcusdt@depth@100ms", 100, 30, 200),
    # A quiet moment: the snapshot reports the id reserved for the next update, past the last
    # push's u; the next event starts at it (U <= nonce, though pu < nonce).
    Case(Market.CM, "BTC/USD:BTC", "btcusd_perp@depth@100ms", 100, 0, 200),
    # rpiDepth is the plain book's 500 ms chain under its own name; a shorter run will do.
    Case(Market.UM, "BTC/USDT:USDT", "btcusdt@rpiDepth@500ms", 500, 0, 20, {"rpi": True}),
]


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


async def push(clock: ManualClock, plant: Tickerplant, market: Market, speed_ms: int) -> None:
    """Advance to the next push of a speed and wait until the pump has published it."""
    clock.advance(speed_ms - clock.now_ms() % speed_ms)
    await eventually(lambda: plant.plants[market].next_tick_ms > clock.now_ms())


async def follow(exchange: Any, case: Case, books: list[Any]) -> None:
    """Watch until cancelled; an error ccxt raises (a checksum or sequence failure, a
    failed snapshot) ends the task with it, so the test sees it."""
    while True:
        books.append(await exchange.watch_order_book(case.symbol, params=case.params))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stream)
async def test_watch_order_book_stays_synced_and_equals_a_snapshot(
    start_server: StartServer, exchanges: list[Any], case: Case
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    market, symbol, speed_ms = case.market, case.symbol, case.speed_ms
    exchange = usdm(plant) if market is Market.UM else coinm(plant)
    exchanges.append(exchange)
    await exchange.load_markets()
    events = record(plant, market, case.stream)  # what the plant publishes on the stream
    await push(clock, plant, market, speed_ms)
    clock.advance(case.lead_ms)
    books: list[Any] = []
    watcher = asyncio.ensure_future(follow(exchange, case, books))
    try:
        # Subscribed, acknowledged, snapshot fetched: the first book, with the clock still.
        await eventually(lambda: bool(books) or watcher.done(), 10 * SECONDS)
        assert not watcher.done(), watcher.exception()
        book = books[0]
        first = {"bids": side(book["bids"]), "asks": side(book["asks"])}
        applied: list[int] = [book["nonce"]]
        async with asyncio.timeout(30 * SECONDS):
            while len(applied) <= case.events:
                seen = len(events)
                await push(clock, plant, market, speed_ms)
                if len(events) == seen:
                    continue  # the book did not move since the last push: nothing is pushed (§4.9)
                event = events[-1]
                assert event["E"] == clock.now_ms()
                if len(applied) == 1:  # the first event ccxt applies after its snapshot
                    assert event["pu"] < event["U"] <= book["nonce"] <= event["u"]  # §4.9 step 4
                    if not case.lead_ms:  # quiet: the snapshot's id is where the next event starts
                        assert event["U"] == book["nonce"]
                await eventually(lambda u=event["u"]: book["nonce"] == u or watcher.done())
                assert not watcher.done(), watcher.exception()
                applied.append(book["nonce"])
        assert exchange.orderbooks[symbol] is book, "ccxt never dropped and rebuilt its book"

        # the clock is still: the same book, at the id reserved for the next update (§4.9)
        snapshot = await exchange.fetch_order_book(symbol, LIMIT, case.params)
    finally:
        watcher.cancel()
    book.limit()  # ccxt sorts its sides into the lists when a watch returns: do it for the last event
    assert book["nonce"] == events[-1]["u"] < snapshot["nonce"]
    for name in ("bids", "asks"):
        held, answered = side(book[name]), side(snapshot[name])
        cuts = (held, answered, first[name])
        assert known(held, *cuts, bids=name == "bids") == known(answered, *cuts, bids=name == "bids"), name
