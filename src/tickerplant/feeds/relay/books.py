"""The relay's books: one ``FollowedBook`` per relayed symbol (``market/book/followed.py``),
kept from the upstream's `<symbol>@depth@100ms` and REST snapshots (spec §4.9), so that
the gateways answer depth from them and local clients cost the upstream no REST weight.

Snapshots are fetched by one task per market, one at a time, in the order the books ask
for them (a book asks when its stream starts, after a ``pu`` break and after a loss), at
least ``interval_ms`` apart: the upstream's request-weight budget (a 1,000-level snapshot
weighs 20, §7.4), shared by every symbol. A failed fetch, or a snapshot older than the
stream it is for, is tried again after a pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator

from tickerplant.bus import StreamMessage
from tickerplant.clock import Clock
from tickerplant.market.book.followed import FollowedBook

__all__ = ["BOOK_STREAM", "BUFFERED", "SNAPSHOT_LIMIT", "SNAPSHOT_WEIGHT_PER_MINUTE", "RelayBooks"]

log = logging.getLogger("tickerplant.relay")

BOOK_STREAM = "depth@100ms"  # what the relay keeps each book from (§4.9: the fastest)
SNAPSHOT_LIMIT = 1000  # Binance's recipe (§4.9 step 2)
SNAPSHOT_WEIGHT_PER_MINUTE = 1200  # half of Binance's 2,400 a minute per IP (§7.1)
# Events held per unsynced book: 10 s of @100ms, far more than a snapshot takes to come,
# while hundreds of books wait their turn (about one a second) without holding minutes each.
BUFFERED = 100


class RelayBooks:
    """The relay's books of one market (symbol -> ``FollowedBook``): fed the upstream's
    book streams, and their snapshots fetched one at a time, ``interval_ms`` apart at
    least (the weight budget), in the order the books asked for them. What the books say
    goes out through ``add`` (the market's batcher), in step with the relayed payloads."""

    def __init__(
        self,
        books: dict[str, FollowedBook],
        snapshot_url: str,
        add: Callable[[StreamMessage], None],
        fetch: Callable[[str], Awaitable[bytes]],
        clock: Clock,
        interval_ms: float,
        delays: Callable[[], Iterator[float]],
    ) -> None:
        self.books = books
        self.streams = {f"{symbol.lower()}@{BOOK_STREAM}": book for symbol, book in books.items()}
        self._url = snapshot_url
        self._add = add
        self._fetch = fetch
        self._clock = clock
        self._interval_ms = interval_ms
        self._delays = delays
        self.fetched = 0  # snapshots asked of the upstream
        self._wanted: dict[str, FollowedBook] = {}  # symbol -> book, in the order asked
        self._wake = asyncio.Event()

    def event(self, book: FollowedBook, payload: bytes) -> None:
        for message in book.event(payload):
            self._add(message)
        if book.wants_snapshot and book.inst.symbol not in self._wanted:
            self._wanted[book.inst.symbol] = book
            self._wake.set()

    def lost(self, streams: Iterable[str] | None) -> None:
        """Upstream ``streams`` (None: every stream) may have lost messages."""
        held = self.streams
        lost = held.values() if streams is None else [held[s] for s in streams if s in held]
        for book in lost:
            self._wanted.pop(book.inst.symbol, None)  # asked again by the next event
            for message in book.lost():
                self._add(message)

    async def fetch(self) -> None:
        clock = self._clock
        next_ms = 0.0
        delays = self._delays()
        while True:
            if not self._wanted:
                self._wake.clear()
                await self._wake.wait()
                continue
            if clock.now_ms() < next_ms:
                await clock.sleep_until(next_ms)
                if not self._wanted:  # lost meanwhile, every book asked for (an upstream loss)
                    continue
            symbol, book = next(iter(self._wanted.items()))
            if not book.wants_snapshot:  # synced meanwhile, or lost and not yet asking
                del self._wanted[symbol]
                continue
            next_ms = clock.now_ms() + self._interval_ms
            self.fetched += 1
            try:
                body = await self._fetch(self._url + symbol)
            except OSError as exc:
                log.warning("%s: depth snapshot failed: %s", symbol, exc)
                await clock.sleep_until(clock.now_ms() + next(delays) * 1000)
                continue
            if self._wanted.get(symbol) is not book:
                continue  # lost while fetching: the stream it was for is gone
            for message in book.snapshot(body):
                self._add(message)
            if not book.wants_snapshot:
                del self._wanted[symbol]
                delays = self._delays()
            else:  # too old for the stream, or unreadable: again, after a pause
                self._wanted[symbol] = self._wanted.pop(symbol)  # to the back of the queue
                await clock.sleep_until(clock.now_ms() + next(delays) * 1000)
