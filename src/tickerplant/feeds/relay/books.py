"""The relay's books: one ``FollowedBook`` per relayed symbol (``market/book/followed.py``),
kept from the upstream's `<symbol>@depth@100ms` and REST snapshots (spec §4.9), so that
the gateways answer depth from them and local clients cost the upstream no REST weight.

Snapshots are fetched by one task per market in the order the books ask for them (a book
asks when its stream starts, after a ``pu`` break and after a loss), at least
``interval_ms`` apart: the upstream's request-weight budget (a 1,000-level snapshot weighs
20, §7.4), shared by every symbol. When, and after a failure or a 429/418 how long to wait,
is ``snapshots.SnapshotSchedule``'s to say: a failing symbol waits alone, a ban holds all.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator

from tickerplant.bus import StreamMessage
from tickerplant.clock import Clock
from tickerplant.feeds.relay.snapshots import SnapshotSchedule, UpstreamLimited
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
    book streams, and their snapshots fetched as ``SnapshotSchedule`` says (``interval_ms``
    apart at least, the weight budget; ``delays``, a failing symbol's own backoff;
    ``ban_delays``, every symbol's after a 429 or 418 without ``Retry-After``). What the
    books say goes out through ``add`` (the market's batcher), in step with the relayed
    payloads. ``fetch`` raises ``UpstreamLimited`` for a 429 or 418, ``OSError`` else."""

    def __init__(
        self,
        books: dict[str, FollowedBook],
        snapshot_url: str,
        add: Callable[[StreamMessage], None],
        fetch: Callable[[str], Awaitable[bytes]],
        clock: Clock,
        interval_ms: float,
        delays: Callable[[], Iterator[float]],
        ban_delays: Callable[[], Iterator[float]],
        market: str = "",
    ) -> None:
        self.books = books
        self.streams = {f"{symbol.lower()}@{BOOK_STREAM}": book for symbol, book in books.items()}
        self._url = snapshot_url
        self._add = add
        self._fetch = fetch
        self._clock = clock
        self._market = market
        self.schedule = SnapshotSchedule(interval_ms, delays, ban_delays)
        self.fetched = 0  # snapshots asked of the upstream
        self._wake = asyncio.Event()

    def event(self, book: FollowedBook, payload: bytes) -> None:
        for message in book.event(payload):
            self._add(message)
        symbol = book.inst.symbol
        if book.wants_snapshot and not self.schedule.wants(symbol):
            self.schedule.ask(symbol)
            self._wake.set()

    def lost(self, streams: Iterable[str] | None) -> None:
        """Upstream ``streams`` (None: every stream) may have lost messages."""
        held = self.streams
        lost = held.values() if streams is None else [held[s] for s in streams if s in held]
        for book in lost:
            self.schedule.drop(book.inst.symbol)  # asked again by the next event
            for message in book.lost():
                self._add(message)

    async def fetch(self) -> None:
        """Fetch what the schedule says, when it says, for as long as the relay runs."""
        clock = self._clock
        schedule = self.schedule
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                self._wake.clear()  # before looking: an ask from here on wakes the wait below
                symbol = schedule.due(clock.now_ms())
                if symbol is None:
                    wake_ms = schedule.wake_ms()
                    timer = clock.call_at(wake_ms, self._wake.set) if wake_ms < math.inf else None
                    try:
                        await self._wake.wait()
                    finally:
                        if timer is not None:
                            timer.cancel()
                    continue
                book = self.books[symbol]
                if not book.wants_snapshot:  # synced meanwhile, or lost and not yet asking
                    schedule.drop(symbol)
                    continue
                schedule.started(symbol, clock.now_ms())
                self.fetched += 1
                task = asyncio.create_task(self._one(symbol, book, schedule.ticket(symbol)))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            for task in running:
                task.cancel()

    async def _one(self, symbol: str, book: FollowedBook, ticket: int) -> None:
        """One snapshot of ``symbol`` fetched, and what came of it told to the schedule."""
        clock = self._clock
        schedule = self.schedule
        try:
            body = await self._fetch(self._url + symbol)
        except UpstreamLimited as refused:
            wait_s = schedule.limited(symbol, refused.status, refused.retry_after_s, clock.now_ms())
            # once a run of refusals (not per retry): the next snapshot answered ends the run
            (log.warning if schedule.refusals == 1 else log.debug)(
                "%s: the upstream refused a depth snapshot with %d (the IP's request weight, "
                "spec §7.1): no snapshot of any symbol for %g s (%s)",
                self._market or "relay", refused.status, wait_s,
                "its Retry-After" if refused.retry_after_s is not None else "no Retry-After: backing off",
            )  # fmt: skip
            return
        except OSError as exc:
            failing = schedule.failing(symbol)
            wait_s = schedule.failed(symbol, clock.now_ms())
            # the first failure of a run said; the retries, on the symbol's own backoff, not
            (log.debug if failing else log.warning)(
                "%s: depth snapshot failed, tried again on its own in %.1f s (others go on): %s",
                symbol, wait_s, exc,
            )  # fmt: skip
            return
        finally:
            self._wake.set()
        if not schedule.current(symbol, ticket):
            schedule.abandoned(symbol)  # lost while fetching: the stream it was for is gone
            return
        for message in book.snapshot(body):
            self._add(message)
        ended = schedule.answered(symbol, clock.now_ms(), synced=not book.wants_snapshot)
        if ended:
            log.info("%s: depth snapshots answered again, after %d refusals", self._market or "relay", ended)
