"""The relay's snapshot fetcher (``feeds/relay/books.RelayBooks``) on a manual clock: the
books an upstream loss takes back while the fetcher waits out its pacing are not asked for,
and the fetcher goes on waiting for the next book that asks (it raised, and the relay's
source failed for good: a second upstream drop within the pacing wait)."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest

from tickerplant.client.backoff import backoff
from tickerplant.clock import ManualClock
from tickerplant.feeds.relay.books import RelayBooks
from tickerplant.feeds.relay.snapshots import UpstreamLimited
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
                       lambda: iter([0.5] * 100), lambda: iter([60.0] * 100))  # fmt: skip
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


# --- 429 / 418 and a failing symbol (feeds/relay/snapshots.py) -----------------------------------

SNAPSHOT = b'{"lastUpdateId":%d,"E":1,"T":1,"bids":[["49999.00","1.000"]],"asks":[]}'


async def _turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _books(*symbols: str) -> dict[str, FollowedBook]:
    listed = {i.symbol: i for i in catalogue(Market.UM, T0)}
    return {symbol: FollowedBook(listed[symbol]) for symbol in symbols}


async def test_a_429_holds_every_symbols_snapshot_for_its_retry_after_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(T0)
    books = _books("BTCUSDT", "ETHUSDT", "SOLUSDT")
    asked: list[tuple[int, str]] = []
    refusals = iter([UpstreamLimited("429", 429, 30.0), UpstreamLimited("429", 429, 30.0)])

    async def fetch(url: str) -> bytes:
        symbol = url.rsplit("=", 1)[1]
        asked.append((clock.now_ms() - T0, symbol))
        refusal = next(refusals, None)
        if refusal is not None:
            raise refusal
        return SNAPSHOT % 11

    relay = RelayBooks(books, "http://upstream/depth?symbol=", lambda m: None, fetch, clock, 1000.0,
                       lambda: iter([0.5] * 100), lambda: iter([60.0] * 100), "um")  # fmt: skip
    for symbol, book in books.items():
        relay.event(book, _diff(symbol, 10, 12))
    fetching = asyncio.create_task(relay.fetch())
    with caplog.at_level(logging.DEBUG, "tickerplant.relay"):
        await _turns()
        for _ in range(100):  # 100 s, a second at a time
            clock.advance(1000)
            await _turns()
    fetching.cancel()
    # refused at 0 s: nobody asks for 30 s (Retry-After), then again refused: 30 s more
    assert asked == [(0, "BTCUSDT"), (30_000, "BTCUSDT"), (60_000, "BTCUSDT"), (61_000, "ETHUSDT"),
                     (62_000, "SOLUSDT")]  # fmt: skip
    assert not any(book.wants_snapshot for book in books.values())
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, [r.getMessage() for r in warned]
    assert "429" in warned[0].getMessage() and "30 s" in warned[0].getMessage()


async def test_a_418_without_retry_after_waits_two_minutes_at_least_then_backs_off_exponentially() -> None:
    clock = ManualClock(T0)
    books = _books("BTCUSDT")
    asked: list[int] = []

    async def fetch(url: str) -> bytes:
        asked.append(clock.now_ms() - T0)
        raise UpstreamLimited("418", 418 if len(asked) == 1 else 429, None)

    relay = RelayBooks(books, "http://upstream/depth?symbol=", lambda m: None, fetch, clock, 1000.0,
                       lambda: iter([0.5] * 100), lambda: backoff(60.0, 2.0, 600.0, jitter=0))  # fmt: skip
    relay.event(books["BTCUSDT"], _diff("BTCUSDT", 10, 12))
    fetching = asyncio.create_task(relay.fetch())
    await _turns()
    for _ in range(60 * 20):  # 20 minutes
        clock.advance(1000)
        await _turns(5)
    fetching.cancel()
    # the 418's two minutes, then 429s without Retry-After: 2 min, 4, 8, capped at 10
    assert asked == [0, 120_000, 240_000, 480_000, 960_000]


async def test_a_symbol_whose_snapshot_keeps_failing_holds_no_other_symbols_snapshot() -> None:
    clock = ManualClock(T0)
    books = _books("BTCUSDT", "ETHUSDT", "SOLUSDT")
    asked: list[tuple[int, str]] = []
    hanging: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def fetch(url: str) -> bytes:
        symbol = url.rsplit("=", 1)[1]
        asked.append((clock.now_ms() - T0, symbol))
        if symbol == "BTCUSDT":
            raise OSError("GET …: HTTP Error 400: Bad Request")
        if symbol == "ETHUSDT" and len([s for _, s in asked if s == symbol]) == 1:
            return await hanging  # a fetch that hangs until its timeout
        return SNAPSHOT % 11

    relay = RelayBooks(books, "http://upstream/depth?symbol=", lambda m: None, fetch, clock, 1000.0,
                       lambda: iter([8.0] * 100), lambda: iter([60.0] * 100))  # fmt: skip
    for symbol, book in books.items():
        relay.event(book, _diff(symbol, 10, 12))
    fetching = asyncio.create_task(relay.fetch())
    await _turns()
    for _ in range(4):
        clock.advance(1000)
        await _turns()
    assert asked == [(0, "BTCUSDT"), (1000, "ETHUSDT"), (2000, "SOLUSDT")], "one second apart, none waiting"
    assert not books["SOLUSDT"].wants_snapshot, "synced while BTCUSDT fails and ETHUSDT hangs"
    hanging.set_exception(TimeoutError("timed out"))  # a timeout is an OSError, at 4 s
    await _turns()
    for _ in range(10):
        clock.advance(1000)
        await _turns()
    fetching.cancel()
    # each failing symbol on its own 8 s backoff; the hung one asked again 8 s after its timeout
    assert asked[3:] == [(8000, "BTCUSDT"), (12_000, "ETHUSDT")]
    assert not books["ETHUSDT"].wants_snapshot and books["BTCUSDT"].wants_snapshot
