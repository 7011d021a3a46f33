"""OrderBooks: local order books of one or more symbols, kept in sync by themselves.

``async with OrderBooks(url) as books: await books.watch("BTCUSDT"); async for item in books``

The asyncio shell around ``LocalBook`` (``orderbook.py``), which decides everything:

- the diff-depth stream (``<symbol>@depth@100ms`` by default, spec §4.9) comes through a
  ``MarketStreams``, which reconnects and says what may be lost as ``Gap`` items; a lost
  connection (``StreamsLost``, told at once), a gap, or a ``Lagged`` (items dropped because
  the consumer fell behind) drops the book;
- when a book asks for a snapshot, ``GET <rest>/fapi/v1/depth?symbol=…&limit=1000``
  (``/dapi/v1/depth`` on COIN-M, spec §7.4) is fetched on the REST twin of the stream
  host (Binance's fapi/dapi, or the tickerplant listener itself); a failed fetch, or a
  snapshot too old to sync, is retried after a backoff on the injected clock, since
  each costs request weight (20 at ``limit=1000``);
- every input (stream items, snapshots) goes through one queue to the consumer, so a
  book only changes inside ``__anext__``, in step with the items it hands out: a
  ``BookUpdate`` when a book changed in sync, a ``BookResync`` when one was dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.error
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

import msgspec

from tickerplant.client.backlog import Lagged
from tickerplant.client.backoff import backoff
from tickerplant.client.endpoints import fetch, market_of
from tickerplant.client.orderbook import BookItem, DepthSnapshot, LocalBook, ResyncReason
from tickerplant.client.sequencing import Gap, GapReason
from tickerplant.client.streams import BINANCE_USDM_STREAMS, MarketStreams, StreamItem, StreamsLost
from tickerplant.clock import Clock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import DepthUpdate
from tickerplant.protocol.endpoints import rest_base, rest_prefix

__all__ = ["OrderBooks"]

log = logging.getLogger("tickerplant.client")

_SPEEDS_MS = {100: "@100ms", 250: "", 500: "@500ms"}  # diff-depth speeds (§4.9)
_SNAPSHOT_LIMITS = (5, 10, 20, 50, 100, 500, 1000)  # the only limits REST takes (§7.4)
# Refusals a retry cannot cure (an unknown symbol: 400 -1121) are raised; 418 and 429 are
# rate limits, which a later try can pass, and a 5xx the server's failure, not the request's
# (503 "Service Unavailable.": try again, trading part 1 §6.2): all retried with backoff.
_RATE_LIMITED = {418, 429}


def _retryable(status: int) -> bool:
    return status in _RATE_LIMITED or status >= 500


@dataclass(frozen=True, slots=True)
class _Snapshot:
    symbol: str
    body: DepthSnapshot


class _End:
    """The streams closed: the consumer's iteration ends."""


# What reaches the consumer: a stream's item, a fetched snapshot, a refused fetch (raised
# to the consumer), the end.
_Input: TypeAlias = StreamItem | _Snapshot | OSError | _End


class OrderBooks:
    """Local books of the symbols watched, from ``url``'s diff-depth streams and REST
    snapshots; works against Binance (the default URLs) and tickerplant alike.

    ``market`` is asked of the URL when not given. ``speed_ms`` picks the stream (100,
    250 or 500); ``snapshot_limit`` the snapshot's depth (1,000 as Binance's recipe).
    ``delays`` spaces retried snapshots; ``clock`` schedules them (a test's ManualClock).
    ``get`` is the HTTP GET (``endpoints.fetch``).
    """

    def __init__(
        self,
        url: str = BINANCE_USDM_STREAMS,
        *,
        market: Market | None = None,
        speed_ms: int = 100,
        snapshot_limit: int = 1000,
        max_buffered: int = 10_000,
        delays: Callable[[], Iterator[float]] = backoff,
        clock: Clock | None = None,
        get: Callable[[str], Awaitable[bytes]] = fetch,
    ) -> None:
        if speed_ms not in _SPEEDS_MS:
            raise ValueError(f"speed_ms is one of {sorted(_SPEEDS_MS)}, not {speed_ms}")
        if snapshot_limit not in _SNAPSHOT_LIMITS:
            raise ValueError(f"snapshot_limit is one of {_SNAPSHOT_LIMITS}, not {snapshot_limit}")
        self.url = url.rstrip("/")
        self.market = market
        self._suffix = "@depth" + _SPEEDS_MS[speed_ms]
        self._limit = snapshot_limit
        self._max_buffered = max_buffered
        self._delays = delays
        self._clock = clock or SystemClock()
        self._get = get
        self._streams = MarketStreams(
            self.url, numbers=Decimal, delays=delays, clock=self._clock, report_losses=True
        )  # a lost connection told at once: its books are dropped then
        self._books: dict[str, LocalBook] = {}
        self._inputs: asyncio.Queue[_Input] = asyncio.Queue(maxsize=1000)  # backpressure
        self._ready: deque[BookItem] = deque()
        self._fetches: dict[str, asyncio.Task[None]] = {}
        self._looks: set[asyncio.Task[None]] = set()  # a watched symbol's first look (``_look``)
        self._retries: dict[str, Iterator[float]] = {}  # per symbol, until it syncs
        self._pump: asyncio.Task[None] | None = None
        self._decode = msgspec.json.Decoder(DepthSnapshot).decode
        # a 429's or 418's ``Retry-After``: the IP's budget is every snapshot's, so none is
        # asked for before it (asked again at once, a 429 becomes a 418 ban of the whole IP)
        self._rate_limited_until_ms = 0
        self._closed = False

    async def __aenter__(self) -> OrderBooks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> OrderBooks:
        return self

    def __getitem__(self, symbol: str) -> LocalBook:
        """The book of ``symbol`` (any case), as of the last item handed out."""
        return self._books[symbol.upper()]

    @property
    def symbols(self) -> list[str]:
        return list(self._books)

    @property
    def reconnects(self) -> int:
        return self._streams.reconnects

    def stream_name(self, symbol: str) -> str:
        return symbol.lower() + self._suffix

    async def watch(self, *symbols: str) -> None:
        """Keep the books of ``symbols``; returns once their streams are subscribed."""
        if self.market is None:
            self.market = await market_of(self.url)
        names = []
        for symbol in symbols:
            key = symbol.upper()
            if key not in self._books:
                # Before subscribing, so that the first events are buffered (§4.9 step 1).
                self._books[key] = LocalBook(key, max_buffered=self._max_buffered)
                names.append(self.stream_name(key))
        if self._pump is None:
            self._pump = asyncio.create_task(self._read_streams())
        for name in names:
            look = asyncio.create_task(self._look(name.partition("@")[0].upper()))
            self._looks.add(look)
            look.add_done_callback(self._looks.discard)
        if names:
            await self._streams.subscribe(*names)

    async def unwatch(self, *symbols: str) -> None:
        keys = [symbol.upper() for symbol in symbols if symbol.upper() in self._books]
        await self._streams.unsubscribe(*(self.stream_name(key) for key in keys))
        for key in keys:
            del self._books[key]
            self._retries.pop(key, None)
            task = self._fetches.pop(key, None)
            if task is not None:
                task.cancel()

    async def __anext__(self) -> BookItem:
        ready = self._ready
        while not ready or self._closed:
            if self._closed:  # however much waits in the queue (a full one takes no end marker)
                raise StopAsyncIteration
            self._take(await self._inputs.get())
        return ready.popleft()

    async def close(self) -> None:
        self._closed = True  # no snapshot asked for from here on (``_ask_for_snapshots``)
        tasks = [*self._fetches.values(), *self._looks, *([self._pump] if self._pump is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fetches.clear()
        await self._streams.close()
        with contextlib.suppress(asyncio.QueueFull):
            self._inputs.put_nowait(_End())

    # -- the consumer's side: every book changes here ----------------------------------

    def _take(self, item: _Input) -> None:
        if isinstance(item, DepthUpdate):
            book = self._books.get(item.symbol)
            if book is None:
                return  # an event of a symbol just unwatched
            self._ready.extend(book.event(item))
        elif isinstance(item, _Snapshot):
            self._fetches.pop(item.symbol, None)
            book = self._books.get(item.symbol)
            if book is None:
                return
            found = book.snapshot(item.body)
            if book.synced:
                self._retries.pop(item.symbol, None)
            self._ready.extend(found)
        elif isinstance(item, Gap):
            book = self._books.get(item.symbol)
            if book is None:
                return
            reason = (
                ResyncReason.CHAIN_BROKEN
                if item.reason is GapReason.DEPTH_CHAIN_BROKEN
                else ResyncReason.STREAM_LOST
            )
            self._ready.extend(book.connection_lost(reason))
        elif isinstance(item, StreamsLost):  # a book must not look in sync while its stream is down
            lost = set(item.streams)
            for symbol, book in self._books.items():
                if self.stream_name(symbol) in lost:
                    self._ready.extend(book.connection_lost(ResyncReason.STREAM_LOST))
        elif isinstance(item, Lagged):
            for book in self._books.values():
                self._ready.extend(book.connection_lost(ResyncReason.STREAM_LOST))
        elif isinstance(item, OSError):
            raise item
        elif isinstance(item, _End):
            self._inputs.put_nowait(item)  # every later call ends too
            raise StopAsyncIteration
        else:
            return  # another payload: none is subscribed here
        self._ask_for_snapshots()

    def _ask_for_snapshots(self) -> None:
        if self._closed:
            return
        for symbol, book in self._books.items():
            if book.wants_snapshot and symbol not in self._fetches:
                retry = self._retries.get(symbol)
                if retry is None:
                    # The first fetch of a sync goes at once; the ones after a failure
                    # or a too-old snapshot wait, growing.
                    self._retries[symbol] = self._delays()
                    delay_s = 0.0
                else:
                    delay_s = next(retry)
                self._fetches[symbol] = asyncio.create_task(self._fetch(symbol, delay_s))

    # -- the I/O: tasks that only move bytes into the queue ----------------------------

    async def _read_streams(self) -> None:
        streams = self._streams
        while True:
            try:
                item = await streams.__anext__()
            except StopAsyncIteration:
                break
            except msgspec.DecodeError as exc:
                # A malformed frame (spec §2.7): what it held is lost, which the next
                # event's pu shows.
                log.warning("%s: a frame could not be read: %s", self.url, exc)
                continue
            await self._inputs.put(item)
        await self._inputs.put(_End())

    def snapshot_url(self, symbol: str) -> str:
        assert self.market is not None
        prefix = rest_prefix(self.market)
        return f"{rest_base(self.url)}{prefix}/depth?symbol={symbol.upper()}&limit={self._limit}"

    async def _look(self, symbol: str) -> None:
        """A watched symbol asked for at once, its smallest depth (``limit=5``): a refusal no
        retry cures (an unknown symbol's 400) ends the iteration now. The server takes the
        stream of a symbol it does not list and sends it nothing (as Binance does), so the
        snapshot, asked for at the stream's first event, would never have been; whatever
        else, the snapshot's own fetches retry."""
        assert self.market is not None
        await self._after_rate_limit()
        try:
            await self._get(f"{rest_base(self.url)}{rest_prefix(self.market)}/depth?symbol={symbol}&limit=5")
        except OSError as exc:
            cause = exc.__cause__
            if isinstance(cause, urllib.error.HTTPError):
                cause.close()  # the error holds the response, and with it the socket
                self._note_rate_limit(cause)
                if not _retryable(cause.code):
                    await self._inputs.put(exc)

    async def _after_rate_limit(self) -> None:
        """Until the last 429's or 418's ``Retry-After`` has passed (nothing when none came)."""
        clock = self._clock
        while (now_ms := clock.now_ms()) < self._rate_limited_until_ms:
            await clock.sleep_until(self._rate_limited_until_ms)
            if clock.now_ms() <= now_ms:  # a clock that does not move: no busy wait
                break

    def _note_rate_limit(self, refused: urllib.error.HTTPError) -> None:
        """A 429 or 418: no snapshot of any symbol until its ``Retry-After`` (seconds, part 1
        §7.2) has passed; without one, a second."""
        if refused.code not in _RATE_LIMITED:
            return
        try:
            wait_s = max(1, int(refused.headers.get("Retry-After") or 1))
        except ValueError:
            wait_s = 1
        until_ms = self._clock.now_ms() + wait_s * 1000
        self._rate_limited_until_ms = max(self._rate_limited_until_ms, until_ms)

    async def _fetch(self, symbol: str, delay_s: float) -> None:
        clock = self._clock
        if delay_s > 0:
            await clock.sleep_until(clock.now_ms() + delay_s * 1000)
        url = self.snapshot_url(symbol)
        retry = self._retries.get(symbol) or self._delays()
        while True:
            await self._after_rate_limit()
            try:
                body = self._decode(await self._get(url))
            except OSError as exc:
                cause = exc.__cause__
                if isinstance(cause, urllib.error.HTTPError):
                    cause.close()  # the error holds the response, and with it the socket
                    self._note_rate_limit(cause)
                    if not _retryable(cause.code):
                        await self._inputs.put(exc)  # refused: raised to the consumer
                        return
                log.warning("%s: %s; retrying", symbol, exc)
            except msgspec.DecodeError as exc:
                log.warning("%s: the depth snapshot could not be read: %s; retrying", symbol, exc)
            else:
                await self._inputs.put(_Snapshot(symbol, body))
                return
            await clock.sleep_until(clock.now_ms() + next(retry) * 1000)
