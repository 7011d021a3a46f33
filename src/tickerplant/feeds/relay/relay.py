"""The relay: an upstream's market streams (Binance, or another tickerplant) re-served.

``prepare`` lists what the upstream's exchangeInfo lists, or the chosen symbols of it;
``run`` subscribes one ``RawStreams`` per market to every chosen stream and publishes each
payload on the bus unchanged, so local clients get the upstream's bytes, and the gateways'
market views answer REST and WebSocket API requests from those same payloads.

Depth (§4.8, §4.9): the depth kinds are relayed byte for byte like the others, and the
relay keeps its own book of each relayed symbol (``market/depth_sync.FollowedBook``) from
the upstream's `<symbol>@depth@100ms` (subscribed for it) and one REST snapshot per sync,
resynced after a ``pu`` break or a loss upstream. The gateways answer REST and WebSocket
API depth from that book, so local clients syncing their own books cost the upstream no
REST weight: one snapshot per symbol per sync, fetched one at a time at most
``snapshot_weight_per_minute`` of request weight (a 1,000-level snapshot weighs 20,
§7.4). Until a symbol's book is synced, depth answers an empty book with id 0, which no
diff event follows, so clients retry rather than sync against a book that is not there.

A loss upstream is never hidden. ``RawStreams`` reconnects and resubscribes by itself, but
what was sent while it was away is gone; so when an upstream connection drops, the local
connections carrying its streams are closed (1012) and their clients, on reconnecting,
report the gap as they would against Binance. A connection whose mark price stream, which
pushes whatever trades, has gone silent is taken for lost too (``stalls.StallWatch``).

What decides is plain functions of their own modules: which names and what they are called
locally (``streams.py``), which symbols are listed (``listing.py``); ``RelaySource`` is the
asyncio shell around them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

from tickerplant.bus import StreamMessage
from tickerplant.client import Lagged, RawItem, RawMessage, RawStreams, StreamsLost
from tickerplant.client.backoff import backoff
from tickerplant.client.endpoints import HttpRefused, fetch, market_of
from tickerplant.clock import Clock, SystemClock
from tickerplant.feeds import Prepared, Sink
from tickerplant.feeds.mark_notes import MarkNotes, is_mark_stream
from tickerplant.feeds.relay.batcher import Batcher
from tickerplant.feeds.relay.books import (
    BOOK_STREAM,
    BUFFERED,
    SNAPSHOT_LIMIT,
    SNAPSHOT_WEIGHT_PER_MINUTE,
    RelayBooks,
)
from tickerplant.feeds.relay.listing import RelayError, choose, exchange_info_url, fetch_listing, priced_pairs
from tickerplant.feeds.relay.narrowed import narrowed
from tickerplant.feeds.relay.snapshots import UpstreamLimited
from tickerplant.feeds.relay.stalls import SILENCE_MS, StallWatch
from tickerplant.feeds.relay.streams import (
    DEFAULT_KINDS,
    canonical_names,
    keeps_books,
    relayable_kinds,
    stream_names,
)
from tickerplant.feeds.relay.unreadable import Unreadable
from tickerplant.market.book.followed import FollowedBook
from tickerplant.market.instruments import Instrument, Market
from tickerplant.protocol.endpoints import BINANCE_STREAMS, rest_base, rest_prefix
from tickerplant.protocol.market_data import DEPTH_LIMITS
from tickerplant.protocol.streams import StreamKind

__all__ = [
    "BOOK_STREAM",
    "DEFAULT_KINDS",
    "SNAPSHOT_WEIGHT_PER_MINUTE",
    "UPSTREAM_LOST",
    "RelayError",
    "RelaySource",
    "canonical_names",
    "choose",
    "exchange_info_url",
    "keeps_books",
    "relayable_kinds",
    "stream_names",
]

log = logging.getLogger("tickerplant.relay")

UPSTREAM_LOST = "Upstream connection lost; reconnecting"
_LAGGED = "Relay fell behind its upstream; messages were dropped"
# the one all-market stream not narrowed to the listed symbols: its entries name margin
# assets (`BTCUSD`), not symbols, and are relayed whole
_ASSET_INDEX = StreamKind.ALL_ASSET_INDEX.value


class Upstream(Protocol):
    """What the relay reads a market from: ``RawStreams``' surface."""

    @property
    def connections(self) -> int: ...

    @property
    def passed_over(self) -> tuple[int, bytes]: ...

    async def subscribe(self, *names: str) -> None: ...

    def reconnect(self, *names: str) -> int: ...

    async def close(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[RawItem]: ...


# --- the shell --------------------------------------------------------------------------------


class RelaySource:
    """``Tickerplant(config, source=RelaySource({Market.UM: "wss://fstream.binance.com"}))``

    ``upstreams`` maps each market to relay to its stream host; ``symbols`` (any case, on
    either market) narrows what is relayed, by default every TRADING symbol; ``kinds`` are
    the streams relayed per symbol and for the whole market (``DEFAULT_KINDS``: all that
    tickerplant serves); ``stream_options`` go to each ``RawStreams`` (``delays``,
    ``ping_interval_s``, …). exchangeInfo is fetched ``fetch_attempts`` times at most,
    ``fetch_delays`` apart, before ``prepare`` gives up with a ``RelayError``.

    ``connect(url, **stream_options)`` makes each market's reader (``RawStreams``) and
    ``fetch(url)`` GETs the upstream's REST (exchangeInfo, depth snapshots); a test hands
    in its own. Depth snapshots are fetched at most ``snapshot_weight_per_minute`` of
    request weight a minute per market, a symbol's failing one retried on its own
    ``fetch_delays`` apart; after a 429 or 418 every symbol's waits out the answer's
    ``Retry-After``, or ``ban_delays`` without one (``feeds/relay/snapshots.py``). A
    connection whose mark price stream is silent ``silence_ms`` is reconnected (``stalls.py``).
    """

    def __init__(
        self,
        upstreams: Mapping[Market, str] | Sequence[str] = BINANCE_STREAMS,
        *,
        symbols: Collection[str] | None = None,
        kinds: Collection[str] = DEFAULT_KINDS,
        stream_options: dict[str, Any] | None = None,
        clock: Clock | None = None,
        fetch_attempts: int = 5,
        fetch_delays: Callable[[], Iterator[float]] = lambda: backoff(0.5, 2.0, 8.0),
        # a 429's weight window is the UTC minute (§7.1): a minute first, then longer
        ban_delays: Callable[[], Iterator[float]] = lambda: backoff(60.0, 2.0, 600.0),
        connect: Callable[..., Upstream] = RawStreams,
        fetch: Callable[[str], Awaitable[bytes]] = fetch,
        snapshot_weight_per_minute: int = SNAPSHOT_WEIGHT_PER_MINUTE,
        silence_ms: float = SILENCE_MS,
    ) -> None:
        if not upstreams:
            raise ValueError("a relay needs at least one upstream")
        hosts = upstreams.values() if isinstance(upstreams, Mapping) else upstreams
        if wrong := [url for url in hosts if urlsplit(url).scheme not in ("ws", "wss")]:
            raise ValueError(f"an upstream is a stream host, ws:// or wss://: not {', '.join(wrong)}")
        if fetch_attempts < 1:
            raise ValueError("fetch_attempts must be at least 1")
        if snapshot_weight_per_minute < 1:
            raise ValueError("snapshot_weight_per_minute must be at least 1")
        self._snapshot_interval_ms = DEPTH_LIMITS[SNAPSHOT_LIMIT] * 60_000 / snapshot_weight_per_minute
        # stream hosts whose market is still to be asked (``market_of``) in ``prepare``
        self._unplaced = [] if isinstance(upstreams, Mapping) else list(upstreams)
        self.upstreams: dict[Market, str] = dict(upstreams) if isinstance(upstreams, Mapping) else {}
        self.symbols = None if symbols is None else [s.upper() for s in symbols]
        self.kinds = relayable_kinds(kinds)
        self._clock = clock or SystemClock()
        # the readers stamp and schedule on the relay's clock too
        self.stream_options = {"clock": self._clock, **(stream_options or {})}
        self._fetch_attempts = fetch_attempts
        self._fetch_delays = fetch_delays
        self._ban_delays = ban_delays
        self._silence_ms = silence_ms
        self._connect = connect
        self._fetch = fetch
        self.instruments: dict[Market, list[Instrument]] = {}
        self.streams: dict[Market, Upstream] = {}  # the live upstream readers, while running
        self.relayed = dict.fromkeys(Market, 0)  # messages published
        self.losses = dict.fromkeys(Market, 0)  # upstream losses reported to local clients
        self.unreadable = {market: Unreadable() for market in Market}  # frames passed over
        self._passed_over = dict.fromkeys(Market, 0)  # of them, the reader's noted so far
        self.books: dict[Market, RelayBooks] = {}  # per market, when depth is relayed

    async def prepare(self) -> Prepared:
        for url in self._unplaced:
            try:
                market = await market_of(url)
            except OSError as exc:
                raise RelayError(f"cannot relay {url}: {exc}") from exc
            if market in self.upstreams:
                raise RelayError(f"two {market.value} upstreams: {self.upstreams[market]} and {url}")
            self.upstreams[market] = url
        listed: dict[Market, list[Instrument]] = {}
        skipped: dict[str, str] = {}
        for market, url in self.upstreams.items():
            delays = self._fetch_delays()
            listing = await fetch_listing(market, url, self._fetch, self._clock, self._fetch_attempts, delays)
            listed[market] = listing.instruments
            skipped.update(listing.skipped)
        chosen = choose(listed, self.symbols, skipped)
        if not any(chosen.values()):
            raise RelayError(f"nothing to relay: no TRADING symbols at {', '.join(self.upstreams.values())}")
        if chosen.get(Market.CM):
            chosen[Market.CM] = await priced_pairs(self.upstreams[Market.CM], chosen[Market.CM], self._fetch)
        self.instruments = {market: chosen.get(market, []) for market in Market}
        for market, insts in chosen.items():
            log.info("%s: relaying %d symbols from %s", market.value, len(insts), self.upstreams[market])
        # what a local client can be given: exactly the relayed streams, each interval and speed
        # its own (a relayed kline_1m carries no kline_5m)
        return Prepared(dict(self.instruments), self._clock.now_ms(), frozenset(self.kinds))

    async def run(self, sink: Sink) -> None:
        async with asyncio.TaskGroup() as group:
            for market, url in self.upstreams.items():
                names = stream_names(self.instruments.get(market, []), self.kinds)
                if names:
                    group.create_task(self._relay(market, url, names, sink))

    async def _relay(self, market: Market, url: str, names: list[str], sink: Sink) -> None:
        insts = self.instruments[market]
        canonical = canonical_names(names, insts)
        if BOOK_STREAM not in self.kinds:  # subscribed for the books alone: not published
            for inst in insts:
                canonical.pop(f"{inst.symbol.lower()}@{BOOK_STREAM}", None)
        streams = self._connect(url, **self.stream_options)
        batcher = Batcher(market, sink.bus)
        books = None
        if keeps_books(self.kinds):
            books = self.books[market] = RelayBooks(
                {inst.symbol: FollowedBook(inst, max_buffered=BUFFERED) for inst in insts},
                f"{rest_base(url)}{rest_prefix(market)}/depth?limit={SNAPSHOT_LIMIT}&symbol=",
                batcher.add, self._snapshot, self._clock, self._snapshot_interval_ms, self._fetch_delays,
                self._ban_delays, market.value,
            )  # fmt: skip
        try:
            async with asyncio.TaskGroup() as group:
                self.streams[market] = streams
                # Consume while subscribing: thousands of names take seconds at the paced
                # SUBSCRIBE rate, and what the first ones deliver should flow meanwhile.
                group.create_task(self._subscribe(market, streams, names))
                fetching = group.create_task(books.fetch()) if books is not None else None
                stalls = StallWatch(self._silence_ms)
                watching = group.create_task(self._watch(market, streams, stalls))
                try:
                    await self._consume(market, streams, canonical, sink, batcher, books, stalls)
                finally:
                    self.streams.pop(market, None)
                    watching.cancel()
                    self._note_passed_over(market, streams)  # those since the last look
                    if fetching is not None:
                        fetching.cancel()
        finally:
            await streams.close()

    async def _snapshot(self, url: str) -> bytes:
        """A depth snapshot's GET; a 429 or 418 raised as the IP's limit (§7.1)."""
        try:
            return await self._fetch(url)
        except HttpRefused as refused:
            if refused.status not in (418, 429):
                raise
            raise UpstreamLimited(str(refused), refused.status, refused.retry_after_s) from refused

    async def _watch(self, market: Market, streams: Upstream, stalls: StallWatch) -> None:
        """Once a second, the silent connections dropped (``stalls.py``): their loss comes
        back through ``_consume`` as any other; and the frames the reader passed over noted."""
        clock = self._clock
        while True:
            await clock.sleep_until(clock.now_ms() + 1000)
            self._note_passed_over(market, streams)
            silent = stalls.stalled(clock.now_ms())
            if silent:
                log.warning(
                    "%s: no push on %s for %g s, though it pushes every few seconds: the upstream "
                    "is taken as stalled; reconnecting",
                    market.value, ", ".join(silent), stalls.silence_ms / 1000,
                )  # fmt: skip
                streams.reconnect(*silent)

    def _note_passed_over(self, market: Market, streams: Upstream) -> None:
        """The frames the reader handed out neither as data nor as a reply since the last look
        (``RawStreams.passed_over``), counted and logged with the unreadable ones. Looked at
        once a second, not per frame: nothing of this is on the path of the frames relayed."""
        count, last = streams.passed_over
        new = count - self._passed_over[market]
        if new > 0:
            self._passed_over[market] = count
            self._unreadable(market, self.unreadable[market], new, last)

    def unreadable_counts(self) -> dict[Market, int]:
        """Per relayed market, the upstream frames passed over unread, ever (the metric)."""
        return {market: self.unreadable[market].total for market in self.upstreams}

    def _unreadable(self, market: Market, unreadable: Unreadable, count: int, what: object) -> None:
        said = unreadable.note(self._clock.now_ms(), count)
        if said is not None:
            log.warning("%s: %d upstream frames unreadable, passed over (%d in all); the last: %r",
                        market.value, said, unreadable.total, what)  # fmt: skip

    async def _subscribe(self, market: Market, streams: Upstream, names: list[str]) -> None:
        log.info("%s: subscribing %d streams upstream", market.value, len(names))
        await streams.subscribe(*names)
        log.info("%s: upstream subscribed, %d connections", market.value, streams.connections)

    async def _consume(
        self,
        market: Market,
        streams: Upstream,
        canonical: dict[str, str],
        sink: Sink,
        batcher: Batcher,
        books: RelayBooks | None,
        stalls: StallWatch,
    ) -> None:
        add = batcher.add
        clock = self._clock
        book_of = books.streams if books is not None else {}
        # the mark-price streams relayed: the views' `@markState` (premiumIndex) follows them
        marks = {name for name in canonical.values() if is_mark_stream(name)}
        listed = frozenset(inst.symbol for inst in self.instruments.get(market, ()))
        notes = MarkNotes(listed)
        everything = sorted(set(canonical.values()))
        down: set[str] = set()  # streams lost upstream and not heard from since
        down_at_ms = 0
        counts = self.relayed
        unreadable = self.unreadable[market]
        items = aiter(streams)
        try:
            while True:
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    break
                except msgspec.DecodeError as exc:  # one frame not the combined form: passed over
                    self._unreadable(market, unreadable, 1, exc)
                    continue
                if type(item) is RawMessage:
                    name = canonical.get(item.stream)
                    data: bytes | None = item.data
                    if name is not None and name[0] == "!" and name != _ASSET_INDEX:
                        data = narrowed(item.data, listed)  # an all-market stream: the listed alone
                    if name is not None and data is not None:
                        add(StreamMessage(name, data))
                        counts[market] += 1
                        if name in marks:  # pushed whatever trades: its silence is a stall
                            stalls.heard(item.stream, clock.now_ms())
                            for note in notes.of(item.data):
                                add(note)
                    if book_of:  # after the frame: the views' book follows what was relayed
                        book = book_of.get(item.stream)
                        if book is not None:
                            before = book.unreadable
                            books.event(book, item.data)  # type: ignore[union-attr]
                            if book.unreadable != before:  # dropped, and synced again
                                self._unreadable(market, unreadable, 1, item.data[:80])
                    if name is None:
                        continue  # not a name we relay: nothing local routes it
                    if down and name in down:
                        # The connection that carried it is back, with all of its streams.
                        log.warning(
                            "%s: upstream delivering again, %d ms after the loss",
                            market.value, clock.now_ms() - down_at_ms,
                        )  # fmt: skip
                        down.clear()
                    continue
                # What came before the loss goes out first, and the gateways get a loop
                # iteration to write it, so the close frame follows the last good message.
                batcher.flush()
                await asyncio.sleep(0)
                self.losses[market] += 1
                if books is not None:  # the books' "no book" goes out before the close
                    books.lost(item.streams if isinstance(item, StreamsLost) else None)
                    batcher.flush()
                if isinstance(item, StreamsLost):
                    stalls.lost(item.streams)
                    lost = [canonical[name] for name in item.streams if name in canonical]
                    if marks.intersection(lost):  # what answers next may be a restarted upstream
                        notes.lost()
                    down.update(lost)
                    down_at_ms = item.at_ms
                    log.warning(
                        "%s: upstream connection lost (%d streams); reconnecting", market.value, len(lost)
                    )
                    sink.interrupt(market, lost, UPSTREAM_LOST)
                elif isinstance(item, Lagged):  # which streams lost messages is unknown: all did
                    notes.lost()
                    log.warning(
                        "%s: fell behind the upstream, %d messages dropped", market.value, item.dropped
                    )
                    sink.interrupt(market, everything, _LAGGED)
        finally:
            batcher.flush()
