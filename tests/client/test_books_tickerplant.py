"""OrderBooks against a real tickerplant, both markets: the market asked of the URL, the
book synced from ``@depth@100ms`` and REST snapshots, no resync on a quiet connection,
and the book equal to a REST snapshot taken at the same update id (spec §4.9, §7.4)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from collecting import collect_until
from conftest import StartServer
from driven_clock import driven
from timing import SECONDS

from tickerplant.client.books import OrderBooks
from tickerplant.client.endpoints import fetch
from tickerplant.client.orderbook import BookResync, BookUpdate, DepthSnapshot
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import rest_base, rest_prefix

# the books the client keeps (its connections' loops: test_streams_client.py):
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

PAIRS = [(Market.UM, "BTCUSDT"), (Market.CM, "BTCUSD_PERP")]


def updates(items: list[Any], symbol: str) -> list[BookUpdate]:
    return [item for item in items if isinstance(item, BookUpdate) and item.symbol == symbol]


@pytest.mark.parametrize(("market", "symbol"), PAIRS)
async def test_the_market_is_asked_of_the_url_and_the_snapshots_read(
    start_server: StartServer, market: Market, symbol: str
) -> None:
    plant = await start_server()
    async with OrderBooks(plant.url(market)) as books:
        await books.watch(symbol)
        assert books.market is market
        body = await fetch(books.snapshot_url(symbol))
    snapshot = msgspec.json.decode(body, type=DepthSnapshot)
    assert snapshot.last_update_id > 0 and snapshot.bids and snapshot.asks
    assert snapshot.bids[0][0] < snapshot.asks[0][0]
    assert snapshot.symbol == (symbol if market is Market.CM else None)


@pytest.mark.parametrize(("market", "symbol"), PAIRS)
async def test_a_book_kept_from_tickerplant_agrees_with_its_snapshots(
    start_server: StartServer, market: Market, symbol: str
) -> None:
    # A calmer market than the tests' default 2,000 actions/s: a snapshot falls on a push's
    # boundary only when the book is still between pushes, which on a loaded machine,
    # its pump catching up in bursts, it seldom was at 2,000
    clock = ManualClock()  # its 100 ms pushes' time passes as fast as the market steps
    plant = await start_server(simulator={"actions_per_s": 300.0}, clock=clock)
    url = plant.url(market)
    snapshot_url = f"{rest_base(url)}{rest_prefix(market)}/depth?symbol={symbol}&limit=1000"
    async with OrderBooks(url) as books, driven(plant, clock):
        await books.watch(symbol)
        assert books.market is market
        items = await collect_until(books, lambda got: len(updates(got, symbol)) >= 10, 20 * SECONDS)
        assert not [item for item in items if isinstance(item, BookResync)]
        book = books[symbol]
        best_bid, best_ask = book.best_bid(), book.best_ask()
        assert best_bid is not None and best_ask is not None and best_bid[0] < best_ask[0]
        # A snapshot reports the id reserved for the update after the last it holds, which
        # the next event holds (§4.9). The book equals it just before it applies that event
        # when the snapshot fell on a boundary of the 100 ms stream (no update between the
        # previous event's u and the snapshot), so take snapshots until one does, noting
        # the book's top after each update. The top 100 levels: deeper ones may lie past
        # what the book's own 1,000-level snapshot held.
        for _ in range(50):
            snapshot = msgspec.json.decode(await fetch(snapshot_url), type=DepthSnapshot)
            target = snapshot.last_update_id
            tops: list[tuple[int, Any, Any]] = []

            def passed(got: list[Any], target: int = target, tops: list[Any] = tops) -> bool:
                tops.append((book.update_id or 0, book.bids(100), book.asks(100)))
                return tops[-1][0] >= target

            await collect_until(books, passed, 10 * SECONDS)
            before = [top for top in tops if top[0] < target]
            if before and before[-1][1:] == (snapshot.bids[:100], snapshot.asks[:100]):
                break
        else:
            pytest.fail("no snapshot fell on an event boundary of the 100 ms stream")


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_a_symbol_the_server_does_not_list_ends_the_iteration_with_its_400(
    start_server: StartServer, market: Market
) -> None:
    """Its stream is taken and sends nothing (as Binance does); the symbol's first look, at
    once, is refused 400 -1121, which ends the iteration (docs/client.md, OrderBooks)."""
    plant = await start_server()
    async with OrderBooks(plant.url(market)) as books:
        await books.watch("NOPEUSDT")
        with pytest.raises(OSError, match="400"):
            async with asyncio.timeout(10 * SECONDS):
                await books.__anext__()
