"""ccxt.pro's ``watch_order_book`` (binanceusdm at its defaults, its hosts replaced) against
the market stream faults (docs/faults.md), one symbol and one ccxt instance per fault, the
simulated market driven on a manual clock:

- ``depth-break`` (a diff depth message not sent): the next message's ``pu`` is not ccxt's
  nonce, and ``watch_order_book`` raises ``ChecksumError`` and drops its book; called again,
  it subscribes again, fetches a new snapshot and keeps a new book;
- ``market-stall`` (a second of silence): the same, when the stream resumes with what it
  missed lost;
- ``market-reset`` (the connection cut without a close frame): ``NetworkError`` (code
  1006); called again, ccxt dials again, subscribes and resets the same book from a new
  snapshot.

Each book ends equal to the server's REST snapshot at the same update id (§4.9): ccxt's
resync is sound; what it takes is a caller that catches the error and watches again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest
from ccxt_hosts import point
from conftest import StartServer
from driven_clock import driven
from test_ccxt import record
from test_ccxt_depth import known, side
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

PROFILE = """
[[fault]]
kind = "depth-break"
at = "+2s"
for_s = 0.1
symbols = ["BTCUSDT"]

[[fault]]
kind = "market-stall"
at = "+2s"
for_s = 1
symbols = ["ETHUSDT"]

[[fault]]
kind = "market-reset"
at = "+2s"
symbols = ["SOLUSDT"]
"""
_WATCHING_S = 45  # then it fails saying what each watcher met (pytest's 60 s say only where)
_MOST_ERRORS = 20  # a watcher that raises more gives up: the assertion shows what it met
SYMBOLS = {"BTC/USDT:USDT": "BTCUSDT", "ETH/USDT:USDT": "ETHUSDT", "SOL/USDT:USDT": "SOLUSDT"}


@pytest.fixture
async def exchanges() -> AsyncIterator[list[Any]]:
    made: list[Any] = []
    yield made
    await asyncio.gather(*(exchange.close() for exchange in made))  # a quarter second each, at once


def public_ccxt(plant: Tickerplant) -> Any:
    """ccxt.pro's binanceusdm as its manual makes it, Binance's hosts replaced."""
    port = plant.listeners[Market.UM].port
    return point(ccxtpro.binanceusdm(), {"https://fapi.binance.com": f"http://127.0.0.1:{port}",
                                         "wss://fstream.binance.com": f"ws://127.0.0.1:{port}"})  # fmt: skip


class Watcher:
    """A bot's book loop: ``watch_order_book`` again after whatever it raises."""

    def __init__(self, exchange: Any, symbol: str) -> None:
        self.exchange, self.symbol = exchange, symbol
        self.books: list[tuple[int, int]] = []  # (id of ccxt's book object, its nonce) per return
        self.raised: list[str] = []
        self.books_at_error: list[int] = []  # how many books it had when each error came
        self.task = asyncio.ensure_future(self.run())

    async def run(self) -> None:
        while len(self.raised) < _MOST_ERRORS:
            try:
                book = await self.exchange.watch_order_book(self.symbol)
            except Exception as error:
                self.raised.append(f"{type(error).__name__}: {error}".split(". ")[0])
                self.books_at_error.append(len(self.books))
                # as a bot backs off: a call that raises before it awaits anything (ccxt's
                # closed client not yet dropped, its stream limit) would otherwise spin here
                # with the loop held, and the server and the clock with it
                await asyncio.sleep(0)
            else:
                self.books.append((id(book), book["nonce"]))

    def resumed(self) -> bool:
        return bool(self.raised) and len(self.books) > self.books_at_error[-1]


async def test_ccxt_pro_books_across_market_stream_faults(
    start_server: StartServer, exchanges: list[Any]
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, faults={"profile_text": PROFILE})
    streams = {
        symbol: record(plant, Market.UM, f"{wire.lower()}@depth@100ms") for symbol, wire in SYMBOLS.items()
    }
    exchanges.extend(public_ccxt(plant) for _ in SYMBOLS)
    await asyncio.gather(*(exchange.load_markets() for exchange in exchanges))
    watchers = {
        symbol: Watcher(exchange, symbol) for exchange, symbol in zip(exchanges, SYMBOLS, strict=True)
    }
    started_ms = clock.now_ms()
    try:
        async with asyncio.timeout(_WATCHING_S):
            await _watch(plant, clock, watchers, streams)
    except TimeoutError:  # what each watcher met, where pytest's timeout says only where it was
        seen = {symbol: (w.raised, len(w.books), w.task.done()) for symbol, w in watchers.items()}
        raise AssertionError(f"at +{clock.now_ms() - started_ms} ms (raised, books, done): {seen}") from None
    finally:
        for watcher in watchers.values():
            watcher.task.cancel()
    assert {symbol: w.raised for symbol, w in watchers.items()} == {
        "BTC/USDT:USDT": [
            "ChecksumError: binanceusdm BTC/USDT:USDT : orderbook data checksum validation failed"
        ],
        "ETH/USDT:USDT": [
            "ChecksumError: binanceusdm ETH/USDT:USDT : orderbook data checksum validation failed"
        ],
        "SOL/USDT:USDT": ["NetworkError: Connection closed by remote server, closing code 1006"],
    }
    # after a ChecksumError a new book; after the reset the same one, reset from a snapshot
    new_book = {symbol: w.books[-1][0] != w.books[0][0] for symbol, w in watchers.items()}
    assert new_book == {"BTC/USDT:USDT": True, "ETH/USDT:USDT": True, "SOL/USDT:USDT": False}
    port = plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as http:
        for symbol, wire in SYMBOLS.items():
            async with http.get(f"http://127.0.0.1:{port}/fapi/v1/depth?symbol={wire}&limit=1000") as got:
                snapshot = await got.json()
            book = watchers[symbol].exchange.orderbooks[symbol]
            book.limit()
            assert (
                book["nonce"] == streams[symbol][-1]["u"] < snapshot["lastUpdateId"]
            )  # nothing since (§4.9)
            for name in ("bids", "asks"):
                held, answered = side(book[name]), side(snapshot[name])
                assert known(held, held, answered, bids=name == "bids") == known(
                    answered, held, answered, bids=name == "bids"
                ), (symbol, name)


async def _watch(
    plant: Tickerplant, clock: ManualClock, watchers: dict[str, Watcher], streams: dict[str, list[Any]]
) -> None:
    """The market driven through the faults until each watcher has met its own, then until
    each book has caught up with the last message of its stream."""
    await eventually(lambda: all(w.books or w.task.done() for w in watchers.values()), 10 * SECONDS)
    # the faults at +2 s, until each watcher has met its own. The clock stops whenever one has
    # raised and not yet resumed: with the clock still it watches again, gets a new snapshot
    # and a book from it. A resync raced against a clock running as fast as the machine steps
    # it can meet a second gap a bot on real time would not (once in CI on a loaded machine)
    while not all(w.raised or w.task.done() for w in watchers.values()):
        async with driven(plant, clock):
            await eventually(lambda: all(w.raised or w.task.done() for w in watchers.values())
                             or any(w.raised and not w.resumed() for w in watchers.values()),
                             20 * SECONDS)  # fmt: skip
        await eventually(
            lambda: all(w.resumed() or w.task.done() for w in watchers.values() if w.raised), 10 * SECONDS
        )
    async with driven(plant, clock):  # and applies the stream's messages after it
        until = clock.now_ms() + 1_000
        await eventually(lambda: clock.now_ms() >= until, 10 * SECONDS)
    # the clock still: every book catches up with the last message of its stream
    for symbol, watcher in watchers.items():
        last = streams[symbol][-1]["u"]
        await eventually(lambda w=watcher, u=last: (bool(w.books) and w.books[-1][1] == u) or w.task.done())
