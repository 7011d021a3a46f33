"""Replay: files merged into one time-ordered stream of events, played into plants and
onto the bus. Sans-I/O: the caller says how far the replay clock has come.

Two kinds of file play together:

- Binance's public files (bookTicker, aggTrades, trades; ``public_files``) become market
  updates for the plant, which derives every stream from them as it does from the
  simulator: bookTicker from the recorded tops with their update ids, miniTicker, ticker,
  klines and the rest from the replayed trades; event times are the recorded ones.
- tickerplant recordings (``recording``) carry payloads as they were received; they are
  published unchanged, so a recording plays back byte-identical.

Events are ordered by time in microseconds: a public row's time (bookTicker: its event
time E) times 1000, a recording's receive time. Files of one symbol and kind are chained
in date order, then everything is merged.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from tickerplant.feeds.public_files import FileKind, PublicFile, identify, rows, sample_decimals, size_of
from tickerplant.feeds.recording import Recorded, RecordedLoss, is_recording, read_recording
from tickerplant.market.instruments import (
    PERPETUAL_DELIVERY_MS,
    ContractType,
    Instrument,
    Market,
    catalogue,
)
from tickerplant.market.plant import Plant, StreamMessage
from tickerplant.market.units import DAY_MS, decimals_of
from tickerplant.market.updates import AggTrade, BookUpdate, MarketUpdate, TopOfBook, Trade

__all__ = ["Passthrough", "ReplayFiles", "Replayer", "StreamsBroken", "find_files", "open_replay"]

log = logging.getLogger("tickerplant.replay")

_DELIVERY_HOUR_UTC = 8
# Over a quiet stretch longer than this, periodic streams are not replayed tick by tick.
_SKIP_QUIET_MS = 10_000
# Cadences end within this of the last event, so the final tickers include every trade.
_FINAL_FLUSH_MS = 5_000


class Passthrough(NamedTuple):
    """A recorded message, published as it was received."""

    market: Market
    stream: str
    payload: bytes


class StreamsBroken(NamedTuple):
    """The recording lost these streams for a while: clients on them are told so."""

    market: Market
    streams: tuple[str, ...]


Event = MarketUpdate | Passthrough | StreamsBroken


@dataclasses.dataclass
class ReplayFiles:
    """What was found: the files, the instruments they need, and the merged events."""

    public: list[PublicFile]
    recordings: list[Path]
    instruments: dict[Market, list[Instrument]]
    events: Iterator[tuple[int, int, Event]]  # (time µs, source index, event), ascending
    total_bytes: int  # CSV bytes to read, for progress
    read_bytes: list[int]  # [bytes read so far], advanced as the events are consumed


def find_files(paths: Iterable[Path]) -> tuple[list[PublicFile], list[Path]]:
    """Public files and recordings among ``paths`` (folders are searched recursively)."""
    public: list[PublicFile] = []
    recordings: list[Path] = []
    for path in paths:
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        for candidate in candidates:
            identified = identify(candidate)
            if identified is not None:
                public.append(identified)
            elif candidate.name.endswith(".jsonl.gz") and is_recording(candidate):
                recordings.append(candidate)
            elif not path.is_dir():
                raise ValueError(
                    f"{candidate}: neither a Binance public file (<SYMBOL>-bookTicker|aggTrades|trades-<date>"
                    ".csv|.zip) nor a tickerplant recording (.jsonl.gz)"
                )
    if not public and not recordings:
        raise ValueError("nothing to replay: no Binance public files or tickerplant recordings found")
    return public, recordings


def open_replay(
    paths: Sequence[Path],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    now_ms: int,
    warm_ms: int = DAY_MS,
) -> ReplayFiles:
    """The files under ``paths``, merged. Public rows start ``warm_ms`` before ``start_ms``,
    so that the 24 h statistics at the start hold the day before it (``Replayer.warm``)."""
    public, recordings = find_files(paths)
    known = {inst.symbol: inst for market in Market for inst in catalogue(market, now_ms)}
    # Each symbol's units must hold the finest digits its files use.
    finest: dict[str, tuple[int, int]] = {}
    markets: dict[str, Market] = {}
    for file in public:
        pd, qd = sample_decimals(file)
        old = finest.get(file.symbol, (0, 0))
        finest[file.symbol] = (max(old[0], pd), max(old[1], qd))
        markets[file.symbol] = file.market
    recorded_symbols: dict[Market, set[str]] = {market: set() for market in Market}
    for path in recordings:
        header, items = read_recording(path)
        for stream in header.streams:
            symbol = stream.partition("@")[0]
            if not symbol.startswith("!"):
                recorded_symbols[header.market].add(symbol.upper())
        for symbol, (pd, qd) in _recorded_decimals(items).items():
            old = finest.get(symbol, (0, 0))
            finest[symbol] = (max(old[0], pd), max(old[1], qd))
            markets.setdefault(symbol, header.market)
    for market, symbols in recorded_symbols.items():
        for symbol in symbols:
            markets.setdefault(symbol, market)
            finest.setdefault(symbol, (0, 0))
    instruments: dict[Market, list[Instrument]] = {market: [] for market in Market}
    by_symbol: dict[str, Instrument] = {}
    for symbol in sorted(markets):
        inst = replay_instrument(symbol, markets[symbol], known, *finest[symbol])
        instruments[inst.market].append(inst)
        by_symbol[symbol] = inst
    read_bytes = [0]
    streams: list[Iterator[tuple[int, int, Event]]] = []
    groups = _group(public)
    trade_kinds: dict[str, set[FileKind]] = {}
    for symbol, kind in groups:
        if kind is not FileKind.BOOK_TICKER:
            trade_kinds.setdefault(symbol, set()).add(kind)
    # trades before aggregates at equal times: a symbol's stats come from its trades
    order = {FileKind.TRADES: 0, FileKind.AGG_TRADES: 1, FileKind.BOOK_TICKER: 2}
    for (symbol, _kind), files in sorted(groups.items(), key=lambda item: (order[item[0][1]], item[0][0])):
        alone = len(trade_kinds.get(symbol, ())) < 2
        index = len(streams)
        warm_from = None if start_ms is None else start_ms - warm_ms
        streams.append(_chained(files, by_symbol[symbol], alone, warm_from, end_ms, read_bytes, index))
    # One recorder's rotated files follow each other: one merge input, one open file at a time.
    sessions: dict[tuple[Market, str, tuple[str, ...]], list[tuple[int, Path]]] = {}
    for path in recordings:
        header = read_recording(path)[0]
        key = (header.market, header.url, header.streams)
        sessions.setdefault(key, []).append((header.started_us, path))
    for files_of_one in sessions.values():
        index = len(streams)
        streams.append(
            itertools.chain.from_iterable(
                _recorded_events(path, start_ms, end_ms, index) for _, path in sorted(files_of_one)
            )
        )
    # (time, stream index, event): ties on time go by stream index, never to the events
    events = heapq.merge(*streams)
    total = sum(size_of(file.path) for file in public)
    return ReplayFiles(public, recordings, instruments, events, total, read_bytes)


def _group(public: list[PublicFile]) -> dict[tuple[str, FileKind], list[PublicFile]]:
    """Files by (symbol, kind). The same day twice (a .csv unzipped next to its .zip) is
    played once; a monthly file and daily files of that month would play twice: refused."""
    groups: dict[tuple[str, FileKind], dict[str, PublicFile]] = {}
    for file in public:
        dates = groups.setdefault((file.symbol, file.kind), {})
        same = dates.get(file.date)
        if same is not None:
            log.warning("%s and %s hold the same data: playing %s", same.path, file.path, same.path.name)
            continue
        overlapping = [d for d in dates if d.startswith(file.date + "-") or file.date.startswith(d + "-")]
        if overlapping:
            raise ValueError(
                f"{file.path.name} overlaps {dates[overlapping[0]].path.name}: "
                "give either the monthly file or the daily ones"
            )
        dates[file.date] = file
    return {key: list(dates.values()) for key, dates in groups.items()}


def _chained(
    files: list[PublicFile],
    inst: Instrument,
    alone: bool,
    start_ms: int | None,
    end_ms: int | None,
    read_bytes: list[int],
    index: int,
) -> Iterator[tuple[int, int, Event]]:
    """One symbol's files of one kind, in date order, as (time µs, index, update)."""
    return itertools.chain.from_iterable(
        rows(
            file,
            inst.price_decimals,
            inst.qty_decimals,
            start_ms=start_ms,
            end_ms=end_ms,
            alone=alone,
            progress=read_bytes,
            index=index,
        )
        for file in sorted(files, key=lambda f: f.date)
    )


def _recorded_events(
    path: Path, start_ms: int | None, end_ms: int | None, index: int
) -> Iterator[tuple[int, int, Event]]:
    header, items = read_recording(path)
    market = header.market
    start_us = -1 if start_ms is None else start_ms * 1000
    end_us = 1 << 62 if end_ms is None else end_ms * 1000 + 999
    for item in items:
        t = item.received_us
        if t < start_us:
            continue
        if t > end_us:
            return
        if type(item) is Recorded:
            yield t, index, Passthrough(market, item.stream, item.data)
        elif type(item) is RecordedLoss:
            yield t, index, StreamsBroken(market, item.streams)


class _Numbers(msgspec.Struct):
    """The number fields of a payload that are decimal strings, by event type."""

    e: Any = None
    s: Any = None
    p: Any = None
    q: Any = None
    b: Any = None
    B: Any = None
    a: Any = None
    A: Any = None
    c: Any = None
    o: Any = None
    h: Any = None
    l: Any = None  # noqa: E741 (the wire key)


_numbers = msgspec.json.Decoder(_Numbers | list[_Numbers])
# (price keys, quantity keys) per event type; ticker "q" is a quote volume, not a quantity
_DIGITS_OF = {
    "bookTicker": (("b", "a"), ("B", "A")),
    "trade": (("p",), ("q",)),
    "aggTrade": (("p",), ("q",)),
    "24hrMiniTicker": (("c", "o", "h", "l"), ()),
    "24hrTicker": (("c", "o", "h", "l"), ()),
}


def _recorded_decimals(
    items: Iterator[Recorded | RecordedLoss], sample: int = 20_000
) -> dict[str, tuple[int, int]]:
    """The finest price and quantity digits of each symbol in a recording's first messages."""
    finest: dict[str, tuple[int, int]] = {}
    for item in itertools.islice(items, sample):
        if type(item) is not Recorded:
            continue
        try:
            decoded = _numbers.decode(item.data)
        except msgspec.DecodeError:
            continue
        for n in decoded if isinstance(decoded, list) else (decoded,):
            keys = _DIGITS_OF.get(n.e) if isinstance(n.e, str) else None
            if keys is None or not isinstance(n.s, str):
                continue
            pd = max((decimals_of(v) for k in keys[0] if isinstance(v := getattr(n, k), str)), default=0)
            qd = max((decimals_of(v) for k in keys[1] if isinstance(v := getattr(n, k), str)), default=0)
            old = finest.get(n.s, (0, 0))
            finest[n.s] = (max(old[0], pd), max(old[1], qd))
    return finest


def replay_instrument(
    symbol: str, market: Market, known: Mapping[str, Instrument], price_decimals: int, qty_decimals: int
) -> Instrument:
    """The instrument a replayed symbol is served as: the catalogue's (or its perpetual's,
    for a dated contract), widened to the digits the files use; else one made from the name."""
    pair, _, suffix = symbol.partition("_")
    base = known.get(symbol) or known.get(pair if market is Market.UM else f"{pair}_PERP")
    if base is None:
        quote = "USD" if market is Market.CM else next(
            (q for q in ("USDT", "USDC", "FDUSD", "BUSD") if pair.endswith(q)), "USDT"
        )
        base_asset = pair[: -len(quote)] or pair
        base = Instrument(
            symbol=symbol, pair=pair, market=market, contract_type=ContractType.PERPETUAL,
            base_asset=base_asset, quote_asset=quote,
            margin_asset=base_asset if market is Market.CM else quote,
            price_decimals=0, tick=1, qty_decimals=0, step=1, min_qty=1, max_qty=10**9,
            contract_size=(100 if base_asset == "BTC" else 10) if market is Market.CM else 1,
            onboard_ms=0, delivery_ms=PERPETUAL_DELIVERY_MS, initial_price=1,
            daily_volatility=0.0, activity=0.0,
        )  # fmt: skip
    pd = max(base.price_decimals, price_decimals)
    qd = max(base.qty_decimals, qty_decimals)
    price_scale, qty_scale = 10 ** (pd - base.price_decimals), 10 ** (qd - base.qty_decimals)
    contract_type, delivery_ms = base.contract_type, base.delivery_ms
    if suffix.isdigit() and len(suffix) == 6:  # a dated contract: YYMMDD, settled 08:00 UTC
        contract_type = ContractType.CURRENT_QUARTER
        day = datetime.strptime(suffix, "%y%m%d").replace(hour=_DELIVERY_HOUR_UTC, tzinfo=UTC)
        delivery_ms = int(day.timestamp() * 1000)
    return dataclasses.replace(
        base,
        symbol=symbol, contract_type=contract_type, delivery_ms=delivery_ms,
        price_decimals=pd, tick=base.tick * price_scale, initial_price=base.initial_price * price_scale,
        qty_decimals=qd, step=base.step * qty_scale, min_qty=base.min_qty * qty_scale,
        max_qty=base.max_qty * qty_scale,
    )  # fmt: skip


class Replayer:
    """Plays merged events into plants (public files) or straight out (recordings).

    ``step(until_us, …)`` consumes the events up to ``until_us``, runs the periodic
    streams due in between at their own times, and returns what each market publishes;
    recorded losses come back as ``StreamsBroken``.
    """

    def __init__(
        self,
        events: Iterator[tuple[int, int, Event]],
        plants: Mapping[Market, Plant],
        start_us: int | None = None,
    ) -> None:
        self._events = events
        self._plants = plants
        self._plant_of = {symbol: plant for plant in plants.values() for symbol in plant.symbols}
        self._pending: tuple[int, int, Event] | None = next(events, None)
        first_us = 0 if self._pending is None else self._pending[0]
        self.now_us = first_us if start_us is None else min(start_us, first_us)
        self.events = 0
        self.finished = False

    def warm(self, until_us: int) -> dict[Market, list[StreamMessage]]:
        """Take the events before ``until_us`` (the replay's start) into the plants without
        publishing them: the windows, books and tops start where the market stood. Returns
        what the market views need of that past: every `@aggTrade` (their klines) and each
        symbol's last bookTicker."""
        history: dict[Market, list[StreamMessage]] = {market: [] for market in self._plants}
        plant_of = self._plant_of
        last_tops: dict[str, StreamMessage] = {}
        scratch: list[StreamMessage] = []
        pending = self._pending
        while pending is not None and pending[0] < until_us:
            t, _, event = pending
            if isinstance(event, (BookUpdate, Trade, AggTrade, TopOfBook)):
                plant = plant_of[event.symbol]
                plant.apply(event, t // 1000, scratch)
                for message in scratch:
                    if message.stream.endswith("@aggTrade"):
                        history[plant.market].append(message)
                    elif message.stream.endswith("@bookTicker"):
                        last_tops[message.stream] = message
                scratch.clear()
            pending = next(self._events, None)
        self._pending = pending
        for stream, message in last_tops.items():
            symbol = stream.partition("@")[0].upper()
            history[plant_of[symbol].market].append(message)
        self.now_us = max(self.now_us, until_us)
        return history

    @property
    def next_us(self) -> int | None:
        """When the next event is due; None when every event has been played."""
        return None if self._pending is None else self._pending[0]

    def step(
        self,
        until_us: int,
        max_events: int,
        outs: Mapping[Market, list[StreamMessage]],
        broken: list[StreamsBroken],
    ) -> int:
        """Play at most ``max_events`` events at or before ``until_us``; how many."""
        plant_of, plants = self._plant_of, self._plants
        events = self._events
        pending = self._pending
        played = 0
        played_us = self.now_us
        last_ms = self.now_us // 1000
        batch_streams: set[str] = set()
        last_stream = ""
        while pending is not None and pending[0] <= until_us and played < max_events:
            t, _, event = pending
            t_ms = t // 1000
            if t_ms > last_ms:
                # what falls due before this event's millisecond; a ticker at E holds the
                # trades at E, so ticks at t_ms wait for the events at t_ms
                self._tick(t_ms - 1, outs)
                last_ms = t_ms
            kind = type(event)
            if kind is Passthrough:
                passthrough: Passthrough = event  # type: ignore[assignment]
                stream = passthrough.stream
                if stream != last_stream:
                    # A connection gets one stream's frames of a batch together (the
                    # fan-out joins them per stream): a stream coming back after another
                    # waits for the next batch, so the recorded order holds across streams.
                    if stream in batch_streams:
                        break
                    batch_streams.add(stream)
                    last_stream = stream
                outs[passthrough.market].append(StreamMessage(stream, passthrough.payload))
            elif kind is StreamsBroken:
                broken.append(event)  # type: ignore[arg-type]
            else:
                update: MarketUpdate = event  # type: ignore[assignment]
                plant = plant_of[update.symbol]
                plant.apply(update, t_ms, outs[plant.market])
            played += 1
            played_us = t
            pending = next(events, None)
        self._pending = pending
        self.events += played
        if played:
            self.now_us = max(self.now_us, played_us)
        if pending is not None and pending[0] > until_us:
            self.now_us = max(self.now_us, until_us)  # caught up: the clock is where it was told
        now_ms = self.now_us // 1000
        for market, plant in plants.items():
            plant.end_batch(now_ms, outs[market])
        # Events still to come in this millisecond hold back its ticks (a ticker at E
        # holds every trade at E), whatever cut the batch there.
        held = pending is not None and pending[0] // 1000 == now_ms
        self._tick(now_ms - 1 if held else now_ms, outs)
        return played

    def finish(self, outs: Mapping[Market, list[StreamMessage]]) -> None:
        """After the last event: let every cadence come round once more, so the last
        tickers include every replayed trade."""
        end_ms = self.now_us // 1000 + _FINAL_FLUSH_MS
        for market, plant in self._plants.items():
            plant.end_batch(end_ms, outs[market])
        self._tick(end_ms, outs)
        self.now_us = end_ms * 1000
        self.finished = True

    def _tick(self, now_ms: int, outs: Mapping[Market, list[StreamMessage]]) -> None:
        for market, plant in self._plants.items():
            out = outs[market]
            while (due := plant.next_tick_ms) <= now_ms:
                plant.tick(due if now_ms - due < _SKIP_QUIET_MS else now_ms, out)
