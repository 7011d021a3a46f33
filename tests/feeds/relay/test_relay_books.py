"""The relay's snapshot fetcher (``feeds/relay/books.RelayBooks``) on a manual clock: the
books an upstream loss takes back while the fetcher waits out its pacing are not asked for,
and the fetcher goes on waiting for the next book that asks (it raised, and the relay's
source failed for good: a second upstream drop within the pacing wait)."""

from __future__ import annotations

import asyncio

import msgspec

from tickerplant.clock import ManualClock
from tickerplant.feeds.relay.books import RelayBooks
from tickerplant.market.book.followed import FollowedBook
from tickerplant.market.instruments import Market, catalogue

T0 = 1_795_000_000_000


def _diff(symbol: str, first: int, last: int) -> bytes:
    return msgspec.json.encode({
        "e": "depthUpdate", "E": T0, "T": T0, "s": symbol, "U": first, "u": last, "pu": first - 1,
        "b": [["50000.00", "1.000"]], "a": [],
    })  # fmt: skip


async def test_books_lost_during_the_pacing_wait_are_not_asked_for_and_the_fetcher_waits_on() -> None:
    clock = ManualClock(T0)
    listed = {i.symbol: i for i in catalogue(Market.UM, T0)}
    books = {symbol: FollowedBook(listed[symbol]) for symbol in ("BTCUSDT", "ETHUSDT")}
    asked: list[str] = []

    async def fetch(url: str) -> bytes:
        asked.append(url.rsplit("=", 1)[1])
        raise OSError("upstream gone")  # each fetch fails: the fetcher pauses, then paces

    relay = RelayBooks(books, "http://upstream/depth?symbol=", lambda m: None, fetch, clock, 1000.0,
                       lambda: iter([0.5] * 100))  # fmt: skip
    for symbol, book in books.items():
        relay.event(book, _diff(symbol, 10, 12))  # unsynced: each asks for a snapshot
    fetching = asyncio.create_task(relay.fetch())
    for _ in range(20):
        await asyncio.sleep(0)
    assert asked == ["BTCUSDT"]  # failed: a pause of 0.5 s, then the pacing's 1 s
    clock.advance(500)
    for _ in range(20):
        await asyncio.sleep(0)
    relay.lost(None)  # the upstream dropped again, while the fetcher waits out its pacing
    clock.advance(600)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not fetching.done(), fetching  # it raised here: nothing left to ask for
    relay.event(books["ETHUSDT"], _diff("ETHUSDT", 20, 22))  # the stream back: asked again
    clock.advance(1000)
    for _ in range(20):
        await asyncio.sleep(0)
    assert asked == ["BTCUSDT", "ETHUSDT"]
    fetching.cancel()
