"""The replay core: events merged into one time-ordered stream and played into plants and
onto the bus. Sans-I/O: it takes iterators of the rows and items the file formats produce
(``replay_files`` opens them) and the time the replay clock has reached, and opens nothing.

Two kinds of input play together:

- Binance's public files (bookTicker, aggTrades, trades; ``public_files``) go into the
  plant, which derives every stream from them as it does from the simulator: bookTicker
  from the recorded tops with their update ids, miniTicker, ticker, klines and the rest
  from the replayed trades; event times are the recorded ones. Their rows are played a
  stretch of replay time at a time, each file's stretch at once (``replay_runs``), never
  past a cadence due; ``open_replay(..., row_by_row=True)`` merges them one update each
  instead, the reference the stretches are tested against. The
  mark-price, index-price, premium-index and funding files become ``MarkPrice``,
  ``IndexPrice`` and ``FundingRate`` updates (``replay_derivatives``), which the plant
  paces onto the mark-price streams as it does the simulator's.
- tickerplant recordings (``tickerplant.recording.format``, their items as events:
  ``recorded.py``) carry payloads as they were received; they are published unchanged, so
  a recording plays back byte-identical. Recorded mark-price pushes also give the market
  views their mark notes (``mark_notes``), so premiumIndex and fundingRate answer what the recording showed.
  Where a recording holds a diff-depth stream and the REST snapshots recorded beside it
  (format version 2), each symbol's book is followed from them by spec §4.9
  (``market/book/followed.py``: one ``FollowedBook`` per symbol, on the fastest diff stream
  recorded) and told to the market views, so REST and WebSocket API depth answer the book
  at the ``u`` of the last diff event replayed, never ahead of or behind it.

Events are ordered by time in microseconds: a public row's time (bookTicker: its event
time E) times 1000, a recording's receive time. Each input is already in time order (one
symbol's files of one kind chained in date order, one recorder's files in turn); ``merge``
interleaves the merged ones, and ``step`` plays the public rows of each millisecond
before the merged events of it, as their inputs' order did.

How far the replay clock has come is the shell's question, answered by ``ReplayClock``:
replay time runs at ×speed of the time the shell passes in.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import msgspec

from tickerplant.bus import StreamMessage
from tickerplant.clock import check_speed
from tickerplant.feeds.mark_notes import MarkNotes, is_mark_stream
from tickerplant.feeds.replay.runs import NEVER_MS, PublicRuns, RowInput
from tickerplant.feeds.replay.turn_streams import TurnStreams
from tickerplant.market.book.followed import FollowedBook
from tickerplant.market.demand import Demand
from tickerplant.market.derivatives.mark_streams import FUNDING_EVENT, MARK_STATE, FundingEvent
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import KLINE_ROW, StreamKind
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import AggTrade, MarketUpdate, TopOfBook, Trade

_AGG_TRADE = "@" + StreamKind.AGG_TRADE.value
_BOOK_TICKER = "@" + StreamKind.BOOK_TICKER.value
_MARK_STATE = "@" + MARK_STATE
_FUNDING_EVENT = "@" + FUNDING_EVENT
_KLINE_ROW = "@" + KLINE_ROW
_funding = msgspec.json.Decoder(FundingEvent)

__all__ = [
    "DepthSnapshot",
    "Event",
    "Passthrough",
    "ReplayClock",
    "Replayer",
    "StreamsBroken",
    "merge",
]

# Over a quiet stretch longer than this, periodic streams are not replayed tick by tick;
# within it they are: a mark-price kline's minute is pushed every second of it.
_SKIP_QUIET_MS = 120_000
# The updates a public file's row makes: the plant publishes them at once and they bring no
# cadence forward (``Plant.next_tick_ms`` moves only when the plant ticks).
_UNSCHEDULED = frozenset((TopOfBook, Trade, AggTrade))
# Cadences end within this of the last event, so the final tickers include every trade.
_FINAL_FLUSH_MS = 5_000


class Passthrough(NamedTuple):
    """A recorded message, published as it was received."""

    market: Market
    stream: str
    payload: bytes
    book: str = ""  # the symbol whose book this diff-depth stream keeps, if it does


class DepthSnapshot(NamedTuple):
    """A recorded REST depth answer of ``symbol``: it (re)starts the symbol's book."""

    market: Market
    symbol: str
    body: bytes


class StreamsBroken(NamedTuple):
    """The recording lost these streams for a while: clients on them are told so."""

    market: Market
    streams: tuple[str, ...]


Event = MarketUpdate | Passthrough | StreamsBroken | DepthSnapshot


def merge(inputs: Iterable[Iterator[tuple[int, int, Event]]]) -> Iterator[tuple[int, int, Event]]:
    """``(time µs, input index, event)`` of every input, in time order. Each input must be
    in time order and carry its own index: ties on time go by index, never to the events
    (which do not compare)."""
    return heapq.merge(*inputs)


class ReplayClock:
    """The replay clock against the time the shell passes in (ns): started at
    ``replay_us`` when that time read ``now_ns``, it runs at ``speed`` replay seconds per
    second. ``restart`` re-anchors it after a pause, where the replay stood."""

    def __init__(self, speed: float, replay_us: int, now_ns: int) -> None:
        self.speed = check_speed(speed)
        self._anchor_us = replay_us
        self._anchor_ns = now_ns

    def restart(self, replay_us: int, now_ns: int) -> None:
        self._anchor_us, self._anchor_ns = replay_us, now_ns

    def replay_us(self, now_ns: int) -> int:
        """Where the replay clock is at ``now_ns``."""
        return self._anchor_us + int((now_ns - self._anchor_ns) * self.speed / 1000)

    def due_ns(self, replay_us: int) -> int:
        """The first ``now_ns`` at which the replay clock has reached ``replay_us``."""
        due = self._anchor_ns + math.ceil((replay_us - self._anchor_us) * 1000 / self.speed)
        while self.replay_us(due) < replay_us:  # float rounding: never a wake-up too early
            due += 1
        return due


class Replayer:
    """Plays merged events into plants (public files) or straight out (recordings).

    ``step(until_us, …)`` consumes the events up to ``until_us``, runs the periodic
    streams due in between at their own times, and returns what each market publishes;
    recorded losses come back as ``StreamsBroken``.

    ``instruments`` (symbol -> instrument) are those of the recordings' books: a recorded
    diff-depth stream that keeps a book, and the recorded snapshots, go through a
    ``FollowedBook`` of that symbol, whose view messages are published beside them.
    """

    def __init__(
        self,
        events: Iterator[tuple[int, int, Event]],
        plants: Mapping[Market, Plant],
        start_us: int | None = None,
        instruments: Mapping[str, Instrument] | None = None,
        runs: Sequence[RowInput] = (),
        books: Collection[str] = (),
    ) -> None:
        self._events = events
        self._kept_books = books  # the symbols whose recorded books are kept (``ReplayFiles.books``)
        self._runs = PublicRuns(list(runs))  # the public files' rows, played in stretches
        self._plants = plants
        # the plants that have symbols: one with none publishes nothing at its cadences
        self._ticking = [(market, plant) for market, plant in plants.items() if plant.symbols]
        self._instruments = instruments or {}
        self.books: dict[str, FollowedBook] = {}  # symbol -> its book, once its stream is met
        self._book_of: dict[str, FollowedBook] = {}  # book stream name -> its book
        self._notes = MarkNotes(self._instruments)  # the views' notes of recorded mark prices
        self._marks: dict[str, bool] = {}  # recorded stream -> whether it carries mark prices
        self._plant_of = {symbol: plant for plant in plants.values() for symbol in plant.symbols}
        for plant in plants.values():  # a COIN-M pair's ``IndexPrice`` goes to its market
            for state in plant.symbols.values():
                self._plant_of.setdefault(state.inst.pair, plant)
        self._pending: tuple[int, int, Event] | None = next(events, None)
        first_us = self.next_us
        first_us = 0 if first_us is None else first_us
        self.now_us = first_us if start_us is None else min(start_us, first_us)
        self.events = 0
        self.finished = False

    @property
    def plants(self) -> Mapping[Market, Plant]:
        """The plants this replay ticks (a venue's liquidations are pushed by them)."""
        return self._plants

    def follow(self, wanted: Demand) -> None:
        """The plants write only the streams in ``wanted`` (None: all; ``Plant.follow``)."""
        for plant in self._plants.values():
            plant.follow(wanted)

    def warm(self, until_us: int) -> dict[Market, list[StreamMessage]]:
        """Take the events before ``until_us`` (the replay's start) into the plants without
        publishing them: the windows, books and tops start where the market stood. Returns
        what the market views need of that past: every `@aggTrade` (their klines) and each
        symbol's last bookTicker, every funding event and each symbol's last mark state, and
        the kline files' rows."""
        history: dict[Market, list[StreamMessage]] = {market: [] for market in self._plants}
        plant_of = self._plant_of
        last_tops: dict[str, StreamMessage] = {}
        scratch: list[StreamMessage] = []
        start_ms = until_us // 1000

        def keep(market: Market, messages: list[StreamMessage]) -> None:
            for message in messages:
                stream = message.stream
                if stream.endswith(_AGG_TRADE):
                    history[market].append(message)
                elif stream.endswith(_FUNDING_EVENT):  # told at the start, where it is published:
                    # history to the venue unless its time is within the minute before it
                    told = msgspec.structs.replace(_funding.decode(message.payload), E=start_ms)
                    history[market].append(StreamMessage(stream, msgspec.json.encode(told)))
                elif stream.endswith(_BOOK_TICKER) or stream.endswith(_MARK_STATE):
                    last_tops[stream] = message
            messages.clear()

        runs = self._runs
        before_ms = (until_us - 1) // 1000  # a row at ms m is before the start if m * 1000 < it
        while runs.next_ms <= before_ms:
            outs: dict[Market, list[StreamMessage]] = {market: [] for market in self._plants}
            runs.play(before_ms, self._plants, outs)
            for market, out in outs.items():
                keep(market, out)
        pending = self._pending
        while pending is not None and pending[0] < until_us:
            t, _, event = pending
            if isinstance(event, (Passthrough, DepthSnapshot, StreamsBroken)):
                if isinstance(event, Passthrough) and event.stream.endswith(_KLINE_ROW):
                    # a kline file's row: the views' klines of the day before the start
                    history[event.market].append(StreamMessage(event.stream, event.payload))
                elif isinstance(event, Passthrough):  # a recording's: its trades and tops, as the files'
                    scratch.append(StreamMessage(event.stream, event.payload))
                    keep(event.market, scratch)
                self._follow(event, scratch)  # the books: followed, nothing of them kept
                scratch.clear()
            else:
                plant = plant_of[event.symbol]
                plant.apply(event, t // 1000, scratch)
                keep(plant.market, scratch)
            pending = next(self._events, None)
        self._pending = pending
        for stream, message in last_tops.items():
            symbol = stream.partition("@")[0].upper()
            history[plant_of[symbol].market].append(message)
        for symbol in self._kept_books:  # kept from the start: "no book" until one syncs
            self._book(symbol)
        for book in self.books.values():  # where each book stands at the start
            history.setdefault(book.inst.market, []).append(book.full())
        self.now_us = max(self.now_us, until_us)
        return history

    @property
    def next_us(self) -> int | None:
        """When the next event is due; None when every event has been played."""
        run_ms = self._runs.next_ms
        pending = self._pending
        if run_ms == NEVER_MS:
            return None if pending is None else pending[0]
        return run_ms * 1000 if pending is None else min(pending[0], run_ms * 1000)

    def step(
        self,
        until_us: int,
        max_events: int,
        outs: Mapping[Market, list[StreamMessage]],
        broken: list[StreamsBroken],
        turn: TurnStreams | None = None,
    ) -> int:
        """Play at most ``max_events`` events at or before ``until_us``; how many (a
        millisecond of public rows is played whole, which may go over). ``turn``: the loop
        turn's streams so far, when it makes more than this step (``turn_streams.py``)."""
        plant_of, plants = self._plant_of, self._plants
        events, runs = self._events, self._runs
        pending = self._pending
        played = 0
        played_us = self.now_us
        last_ms = self.now_us // 1000
        until_ms = until_us // 1000  # a public row at ms m is due once m * 1000 <= until_us
        turn = TurnStreams() if turn is None else turn
        batch_streams, last_stream = turn.seen, turn.last
        due_ms = self._due_ms()  # the first cadence due: ticking earlier would find nothing
        marks = self._marks.get(last_stream, False)  # whether last_stream carries mark prices
        stopped = False
        while played < max_events and not stopped:
            run_ms = runs.next_ms
            # the merged events before the public rows' next millisecond, one at a time
            while pending is not None and pending[0] <= until_us and played < max_events and not stopped:
                t, _, event = pending
                t_ms = t // 1000
                if t_ms >= run_ms:
                    break
                if t_ms > last_ms:
                    # what falls due before this event's millisecond; a ticker at E holds the
                    # trades at E, so ticks at t_ms wait for the events at t_ms
                    if t_ms > due_ms:
                        self._tick(t_ms - 1, outs, played_us // 1000)
                        due_ms = self._due_ms()
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
                            stopped = True
                            break
                        batch_streams.add(stream)
                        last_stream = stream
                        known = self._marks.get(stream)
                        if known is None:
                            known = self._marks[stream] = is_mark_stream(stream)
                        marks = known
                    out = outs[passthrough.market]
                    out.append(StreamMessage(stream, passthrough.payload))
                    if passthrough.book:
                        self._follow(passthrough, out)
                    elif marks:  # premiumIndex and fundingRate follow the recorded mark prices
                        out.extend(self._notes.of(passthrough.payload))
                elif kind is StreamsBroken:  # the batch ends: its close before what came after it
                    broken.append(event)  # type: ignore[arg-type]
                    self._follow(event, outs[event.market])  # type: ignore[union-attr, arg-type]
                    stopped = True
                elif kind is DepthSnapshot:
                    self._follow(event, outs[event.market])  # type: ignore[union-attr, arg-type]
                else:
                    update: MarketUpdate = event  # type: ignore[assignment]
                    plant = plant_of[update.symbol]
                    plant.apply(update, t_ms, outs[plant.market])
                    if kind not in _UNSCHEDULED:  # a mark price, a liquidation: may set a cadence
                        due_ms = self._due_ms()
                played += 1
                played_us = t
                pending = next(events, None)
            if stopped or played >= max_events or run_ms > until_ms:
                break
            # the public rows from run_ms on, up to the next cadence, the next merged event's
            # millisecond and until_us: file by file (replay_runs)
            if run_ms > last_ms:
                if run_ms > due_ms:
                    self._tick(run_ms - 1, outs, played_us // 1000)
                    due_ms = self._due_ms()
                last_ms = run_ms
            # (past a kline tick nobody hears: the candles catch up, the tick follows late)
            stretch_ms = min(self._stop_ms(), until_ms)
            if pending is not None:
                stretch_ms = min(stretch_ms, pending[0] // 1000)
            stretch_ms = runs.cut(run_ms, max(stretch_ms, run_ms), max_events - played)
            count, played_ms = runs.play(stretch_ms, plants, outs)
            played += count
            played_us = max(played_us, played_ms * 1000)
        turn.last, turn.stopped = last_stream, stopped
        self._pending = pending
        self.events += played
        if played:
            self.now_us = max(self.now_us, played_us)
        next_us = self.next_us
        if next_us is not None and next_us > until_us:
            self.now_us = max(self.now_us, until_us)  # caught up: the clock is where it was told
        now_ms = self.now_us // 1000
        for market, plant in plants.items():
            plant.end_batch(now_ms, outs[market])
        # Events still to come in this millisecond hold back its ticks (a ticker at E
        # holds every trade at E), whatever cut the batch there.
        held = next_us is not None and next_us // 1000 == now_ms
        self._tick(now_ms - 1 if held else now_ms, outs, played_us // 1000)
        return played

    def finish(self, outs: Mapping[Market, list[StreamMessage]]) -> None:
        """After the last event: let every cadence come round once more, so the last
        tickers include every replayed trade."""
        end_ms = self.now_us // 1000 + _FINAL_FLUSH_MS
        for market, plant in self._plants.items():
            plant.end_batch(end_ms, outs[market])
        self._tick(end_ms, outs, self.now_us // 1000)
        self.now_us = end_ms * 1000
        self.finished = True

    def _follow(self, event: Passthrough | DepthSnapshot | StreamsBroken, out: list[StreamMessage]) -> None:
        """A recorded book stream's message, a snapshot or a loss, into its book."""
        if isinstance(event, Passthrough):
            if event.book:
                book = self._book(event.book)
                if book is not None:
                    self._book_of[event.stream] = book
                    out.extend(book.event(event.payload))
        elif isinstance(event, DepthSnapshot):
            book = self._book(event.symbol)
            if book is not None:
                out.extend(book.snapshot(event.body))
        else:
            for stream in event.streams:
                lost = self._book_of.get(stream)
                if lost is not None:
                    out.extend(lost.lost())

    def _book(self, symbol: str) -> FollowedBook | None:
        book = self.books.get(symbol)
        if book is None:
            inst = self._instruments.get(symbol)
            if inst is None:
                return None  # not served: nobody can ask for its depth
            book = self.books[symbol] = FollowedBook(inst)
        return book

    def _due_ms(self) -> int:
        return min((plant.next_tick_ms for _, plant in self._ticking), default=1 << 62)

    def _stop_ms(self) -> int:
        return min((plant.next_stop_ms for _, plant in self._ticking), default=1 << 62)

    def _tick(self, now_ms: int, outs: Mapping[Market, list[StreamMessage]], played_ms: int) -> None:
        """Every tick due up to ``now_ms``. A tick due before ``played_ms`` (rows are in
        from that millisecond on) is one the rows went past (``Plant.next_stop_ms``): it is
        ticked at its own time, as a plant that stopped for it ticked it; every other tick,
        at its own time within a quiet stretch shorter than _SKIP_QUIET_MS, at ``now_ms``
        past a longer one."""
        for market, plant in self._ticking:
            out = outs[market]
            while (due := plant.next_tick_ms) <= now_ms:
                plant.tick(due if due < played_ms or now_ms - due < _SKIP_QUIET_MS else now_ms, out)
