"""Exactly-once, in-order delivery per stream, and honest notice of what may be missing.

The shell hands every decoded event to ``Sequencer.accept`` with the stream it came on and
the id of the connection that carried it. The verdict says what to do with it:

- ``Verdict.DELIVER``: new and in order; hand it to the user.
- ``Verdict.DUPLICATE``: already delivered, e.g. the second copy while two connections
  carry the same stream during a rollover (spec §2.4: connections live 24 h); drop it.
- a ``Gap``: new, but something before it is or may be missing; yield the gap, then the
  event.

What a stream's ids can prove differs by kind (spec §4):

- bookTicker ``u`` (§4.1) comes from the symbol's order-book update-id sequence, shared
  with depth, so it increases strictly but skips: a higher ``u`` is new, an equal or lower
  one a duplicate, and a lost update cannot be seen.
- 24hrMiniTicker / 24hrTicker (§4.2, §4.3) carry no id; the event time ``E`` plays the
  same role and proves as little.
- trade ``t`` (§4.5) and aggTrade ``a`` (§4.4) are consecutive per symbol: a jump is a gap
  whose missing ids are known exactly.
- depthUpdate (§4.9) chains: each event's ``pu`` is the previous event's ``u`` on the same
  stream. ``pu`` equal to the last delivered ``u`` is continuity; anything else a gap.

The derived streams carry no id to gap on: a loss while connected cannot be seen (a
candle, mark or index price pushed later carries the whole state again), but an outage
is reported like a ticker's, a ``RECONNECTED`` gap before the first new event after an
uncovered loss (a liquidation pushed meanwhile is lost, and only that it may be can be
said). They are judged by event time ``E``:

- kline (§4.7) and continuous_kline (§4.12) are state snapshots: the open candle is pushed
  again every 250 ms while it changes, so the same candle again is not a duplicate. ``E``
  never goes back per (stream, symbol), and the pair's stream name carries the contract
  type, so a continuous kline is tracked per (stream, pair). One push can close a candle
  and carry the next one at the same ``E``, so a tie is new when its candle opened later
  (``k.t``): the key is (``E``, ``k.t``), and an equal or lower key is a duplicate.
- markPriceUpdate (§4.6): ``E`` increases per symbol, on ``!markPrice@arr[@1s]`` and
  COIN-M's ``<pair>@markPrice[@1s]`` per element (each names its symbol); an equal or
  lower ``E`` is a duplicate. indexPriceUpdate (§4.12) has no symbol: its pair (``i``) is
  the key, by the same rule.
- forceOrder (§4.10): at most one per symbol per 1000 ms, on ``!forceOrder@arr`` too, so
  ``E`` never goes back per (stream, symbol of ``o.s``); the key is (``E``, ``o.T``), and
  an equal or lower key is a duplicate.

After an uncovered loss, a lower key than the last one delivered means the source
restarted (see ``GapReason.RESTARTED``): the event is delivered and starts the track over.

Ids alone cannot tell whether a bookTicker or ticker stream lost updates while its
connection was down, so the shell reports outages: ``connection_lost(streams, at_ms)``
when a connection drops, ``covered(stream)`` when another live connection carried the
stream throughout (a rollover), and, optionally, ``resumed(stream, event, connection_id)``
for the first event on a fresh subscription. The first new event after an uncovered loss
is a ``Gap`` for the kinds without provable ids; trade, aggTrade and depth decide by id.
Passing ``connection_id`` to ``connection_lost`` lets the sequencer see coverage itself:
a stream that another, still-live connection has been delivering is not interrupted.

A connection covers a (stream, symbol) only once it overlaps the ones carrying it; until
then what it brings ahead of them is held (``client/tracks.py``).

All-market streams (``!bookTicker``, ``!ticker@arr``, ``!miniTicker@arr``) mix symbols,
whose ids are unrelated, so every stream is tracked per symbol (per pair where a payload
names no symbol): one small record per (stream, symbol), nothing per event.
``forget(stream)`` drops a stream's records.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from tickerplant.client.events import (
    AggTrade,
    BookTicker,
    CombinedFrame,
    ContinuousKline,
    DepthUpdate,
    ForceOrder,
    IndexPriceKline,
    IndexPriceUpdate,
    Kline,
    MarketEvent,
    MarkPriceKline,
    MarkPriceUpdate,
    MiniTicker,
    Ticker,
    Trade,
)
from tickerplant.client.tracks import HELD_KINDS, NO_TRACK, Keyed, Track, ahead, hold, key_of

__all__ = ["DELIVER", "DUPLICATE", "Gap", "GapReason", "Sequencer", "Verdict"]


class Verdict(enum.Enum):
    """What to do with an event that is not preceded by a gap (a ``Gap`` says the rest)."""

    DELIVER = "deliver"  # new and in order
    DUPLICATE = "duplicate"  # already delivered; drop it


DELIVER = Verdict.DELIVER
DUPLICATE = Verdict.DUPLICATE


class GapReason(enum.StrEnum):
    RECONNECTED = "reconnected; updates in between may be lost"
    TRADE_IDS_SKIPPED = "trade ids skipped"
    AGG_TRADE_IDS_SKIPPED = "aggregate trade ids skipped"
    DEPTH_CHAIN_BROKEN = "depth chain broken: pu is not the u of the last event delivered"
    RESTARTED = "ids went back after a reconnect: the source restarted its numbering"


class Gap(msgspec.Struct, frozen=True):
    """Updates on a stream are, or may be, missing before the event that comes with it."""

    stream: str  # the stream the gap is on
    symbol: str  # the symbol; all-market streams are sequenced per symbol
    kind: str  # the event type, Binance's "e": "bookTicker", "trade", "depthUpdate", …
    reason: GapReason  # why
    first_missing: int | None  # first missing id (trade/aggTrade id, depth update id), if known
    last_missing: int | None  # last missing id, if known
    since_ms: int  # the connection loss, or else the last delivered event's time, ms
    until_ms: int  # event time of the event that revealed the gap, ms


_KIND: dict[type, str] = {
    BookTicker: "bookTicker",
    MiniTicker: "24hrMiniTicker",
    Ticker: "24hrTicker",
    Trade: "trade",
    AggTrade: "aggTrade",
    DepthUpdate: "depthUpdate",
    Kline: "kline",
    ContinuousKline: "continuous_kline",
    MarkPriceUpdate: "markPriceUpdate",
    IndexPriceUpdate: "indexPriceUpdate",
    ForceOrder: "forceOrder",
    MarkPriceKline: "markPrice_kline",
    IndexPriceKline: "indexPrice_kline",
}

# The derived streams' payloads, judged by event time alone (``Sequencer._snapshot``).
_Snapshot = (
    Kline[Any] | ContinuousKline[Any] | MarkPriceUpdate[Any] | IndexPriceUpdate[Any] | ForceOrder[Any]
    | MarkPriceKline[Any] | IndexPriceKline[Any]
)  # fmt: skip
_SNAPSHOTS = frozenset(
    {Kline, ContinuousKline, MarkPriceUpdate, IndexPriceUpdate, ForceOrder, MarkPriceKline, IndexPriceKline}
)
def _gap(
    stream: str, event: Keyed, reason: GapReason, first: int | None, through: int | None, since_ms: int
) -> Gap:
    return Gap(stream, event.symbol, _KIND[type(event)], reason, first, through, since_ms, event.event_time)


def _restarted(stream: str, track: Track, event: Keyed, key: int) -> Verdict | Gap:
    # Ids never go back on a live source, and a reconnect does not replay old messages:
    # a lower id after an uncovered loss means the source itself restarted (a relay's
    # upstream, a replay played again). Start over from it rather than drop all it sends.
    if key == track.last_id:
        return DUPLICATE
    since_ms = track.lost_ms if track.lost_ms is not None else track.last_ms
    track.last_id = key
    track.last_ms = event.event_time
    track.lost_ms = None
    return _gap(stream, event, GapReason.RESTARTED, None, None, since_ms)


def _subject(event: MarketEvent) -> str:
    """What a stream's events are tracked by: the symbol, or the pair where the payload
    names no symbol (a continuous kline's stream names the contract type too)."""
    if isinstance(event, ContinuousKline | IndexPriceUpdate | IndexPriceKline):
        return event.pair
    if isinstance(event, ForceOrder):
        return event.order.symbol
    if isinstance(event, MarkPriceKline):
        return event.kline.symbol
    return event.symbol


class Sequencer:
    """Dedup and gap detection for every stream of a client; pure, no clock."""

    __slots__ = ("_books", "_streams")

    def __init__(self) -> None:
        self._streams: dict[str, dict[str, Track]] = {}
        # symbol -> the track of its last bookTicker, whatever its stream: ``deliver``'s
        # fast path finds a track by one hash of a fresh string, not two.
        self._books: dict[str, Track] = {}

    def accept(self, stream: str, event: MarketEvent, connection_id: int) -> Verdict | Gap:
        """Judge ``event``, received on ``stream`` over connection ``connection_id``."""
        tracks = self._streams.get(stream)
        if tracks is None:
            tracks = self._streams[stream] = {}
        try:
            symbol: str = event.symbol  # type: ignore[union-attr]
        except AttributeError:  # a continuous kline, an index price or a liquidation: no `s`
            # (a try costs nothing when nothing is raised: the busy kinds pay no type test)
            return self._snapshot(stream, tracks, event, connection_id)  # type: ignore[arg-type]
        track = tracks.get(symbol)
        if track is None:
            if type(event) in _SNAPSHOTS:
                return self._snapshot(stream, tracks, event, connection_id)  # type: ignore[arg-type]
            # The first event proves nothing and misses nothing we could name; a depth
            # consumer syncs its first event against a snapshot instead (spec §4.9).
            tracks[symbol] = Track(stream, key_of(event), event.event_time, connection_id)  # type: ignore[arg-type]
            return DELIVER
        if connection_id not in track.connections:
            if track.connections and type(event) in HELD_KINDS and ahead(track, event):  # type: ignore[arg-type]
                hold(track, event, connection_id)  # type: ignore[arg-type]
                return DUPLICATE  # not now: the carriers' come first (the module's docstring)
            if track.holder == connection_id:  # it overlaps: what it held came on the carriers
                track.held, track.holder, track.overflowed = [], None, False
            track.seen_on(connection_id)
        if type(event) is BookTicker:  # by far the busiest stream: checked first
            self._books[symbol] = track
            key = event.update_id
            # The common case of _increasing, inlined: a call per event is a fifth of the
            # sequencer's cost at a million bookTickers a second.
            if key > track.last_id and track.lost_ms is None:
                track.last_id = key
                track.last_ms = event.event_time
                return DELIVER
            return self._increasing(stream, track, event, key)
        if isinstance(event, Trade):
            return self._consecutive(stream, track, event, event.trade_id, GapReason.TRADE_IDS_SKIPPED)
        if isinstance(event, AggTrade):
            return self._consecutive(stream, track, event, event.agg_id, GapReason.AGG_TRADE_IDS_SKIPPED)
        if isinstance(event, DepthUpdate):
            return self._chained(stream, track, event)
        if isinstance(event, BookTicker):
            return self._increasing(stream, track, event, event.update_id)
        if isinstance(event, (MiniTicker, Ticker)):
            return self._increasing(stream, track, event, event.event_time)
        return self._snapshot(stream, tracks, event, connection_id)  # a kline or a mark price

    def deliver(
        self, frames: Iterable[CombinedFrame[Any]], connection_id: int, out: Callable[[Any], object]
    ) -> None:
        """``accept`` for every event of ``frames`` (combined frames, in order, received
        over ``connection_id``), passing ``out`` what to hand out: each event delivered, a
        gap before the event that revealed it; duplicates dropped."""
        books = self._books
        accept = self.accept
        for frame in frames:
            data = frame.data
            if type(data) is BookTicker:
                # The busiest stream's common case, inlined (``accept``): the track of the
                # symbol's last bookTicker, on this stream (compared, not hashed), carried by
                # this connection, a higher ``u``, no loss pending. Anything else, such as a
                # symbol on both !bookTicker and its own stream, is for ``accept``.
                track = books.get(data.symbol, NO_TRACK)
                if (
                    track.stream == frame.stream
                    and data.update_id > track.last_id
                    and track.lost_ms is None
                    and connection_id in track.connections
                ):
                    track.last_id = data.update_id
                    track.last_ms = data.event_time
                    out(data)
                    continue
            for event in data if isinstance(data, list) else (data,):
                verdict = accept(frame.stream, event, connection_id)
                if verdict is DELIVER:
                    out(event)
                elif verdict is not DUPLICATE:
                    out(verdict)  # the gap, then the event that revealed it
                    out(event)

    def connection_lost(
        self, streams: Iterable[str], at_ms: int, connection_id: int | None = None
    ) -> list[Any]:
        """The connection carrying ``streams`` dropped at ``at_ms``; what to hand out now
        (events another connection held while this one carried them, after their gap).

        With ``connection_id``, a stream that another connection has also been delivering
        (and that has not been reported lost) counts as covered and is not interrupted.
        """
        out: list[Any] = []
        for stream in streams:
            for track in list(self._streams.get(stream, {}).values()):
                if connection_id is not None:
                    if track.holder == connection_id:  # the newcomer itself: its held go too
                        track.held, track.holder, track.overflowed = [], None, False
                    track.connections = tuple(c for c in track.connections if c != connection_id)
                    if track.connections:
                        continue
                else:
                    track.connections = ()
                if track.lost_ms is None:  # the earliest loss bounds what may be missing
                    track.lost_ms = at_ms
                self._release(stream, track, out)
        return out

    def uncovered(self, streams: Iterable[str]) -> tuple[str, ...]:
        """Those of ``streams`` no connection carries now (after ``connection_lost``): a
        stream another connection still delivers (a rollover's overlap) is covered."""
        tracks = self._streams
        return tuple(
            stream for stream in streams
            if not any(track.connections for track in tracks.get(stream, {}).values())
        )  # fmt: skip

    def connection_retired(self, streams: Iterable[str], connection_id: int) -> list[Any]:
        """The connection carrying ``streams`` was closed on purpose (a rollover done, an
        unsubscribe): nothing was lost, but it no longer covers anything. What to hand out
        now: the events the successor held while this one carried them, still new."""
        out: list[Any] = []
        for stream in streams:
            for track in list(self._streams.get(stream, {}).values()):
                track.connections = tuple(c for c in track.connections if c != connection_id)
                if not track.connections:
                    self._release(stream, track, out)
        return out

    def _release(self, stream: str, track: Track, out: list[Any]) -> None:
        """The last carrier went: the holder carries the track, and its held events are
        judged again in order (those the carrier delivered are duplicates now)."""
        held, holder = track.held, track.holder
        if holder is None:
            return
        if track.overflowed and track.lost_ms is None:
            track.lost_ms = track.last_ms  # some held were let go: a gap before the rest
        track.held, track.holder, track.overflowed = [], None, False
        track.connections = (holder,)
        for event in held:
            verdict = self.accept(stream, event, holder)
            if verdict is DELIVER:
                out.append(event)
            elif verdict is not DUPLICATE:
                out.append(verdict)
                out.append(event)

    def covered(self, stream: str) -> None:
        """Another live connection carried ``stream`` throughout its loss: nothing was lost."""
        for track in self._streams.get(stream, {}).values():
            track.lost_ms = None

    def resumed(self, stream: str, event: MarketEvent, connection_id: int) -> Verdict | Gap:
        """``accept`` for the first event of a fresh subscription that no other connection
        overlapped; it counts as a resume even when the loss was never reported, in which
        case the gap runs from the last delivered event."""
        track = self._streams.get(stream, {}).get(_subject(event))
        if track is not None:
            track.connections = ()
            if track.lost_ms is None:
                track.lost_ms = track.last_ms
        return self.accept(stream, event, connection_id)

    def forget(self, stream: str) -> None:
        """Drop what is known about ``stream`` (unsubscribed); a later event starts afresh."""
        books = self._books
        for symbol, track in self._streams.pop(stream, {}).items():
            if books.get(symbol) is track:
                del books[symbol]

    def tracked(self) -> int:
        """How many (stream, symbol) records are held."""
        return sum(len(tracks) for tracks in self._streams.values())

    @staticmethod
    def _snapshot(
        stream: str, tracks: dict[str, Track], event: _Snapshot, connection_id: int
    ) -> Verdict | Gap:
        # The derived streams (see the module's docstring): (E, second) never goes back; an
        # outage is a RECONNECTED gap, a key going back after one a RESTARTED gap.
        time_ms = event.event_time
        if isinstance(event, Kline | ContinuousKline):
            second = event.kline.open_time
        elif isinstance(event, ForceOrder):
            second = event.order.trade_time
        else:
            second = 0
        subject = _subject(event)
        track = tracks.get(subject)
        if track is None:
            tracks[subject] = Track(stream, second, time_ms, connection_id)
            return DELIVER
        if connection_id not in track.connections:
            track.seen_on(connection_id)
        last_ms = track.last_ms
        if time_ms > last_ms or (time_ms == last_ms and second > track.last_id):
            reason = GapReason.RECONNECTED  # should a loss come before it
        elif track.lost_ms is None or (time_ms == last_ms and second == track.last_id):
            return DUPLICATE
        else:  # after an uncovered loss a lower key: the source restarted; start over
            reason = GapReason.RESTARTED
        since_ms = track.lost_ms
        track.last_id = second
        track.last_ms = time_ms
        track.lost_ms = None
        if since_ms is None:
            return DELIVER
        return Gap(stream, subject, _KIND[type(event)], reason, None, None, since_ms, time_ms)

    @staticmethod
    def _increasing(stream: str, track: Track, event: Keyed, key: int) -> Verdict | Gap:
        # bookTicker u and ticker E: higher is new, but a lost update leaves no trace (§4.1).
        if key <= track.last_id:
            return _restarted(stream, track, event, key) if track.lost_ms is not None else DUPLICATE
        since_ms = track.lost_ms
        track.last_id = key
        track.last_ms = event.event_time
        if since_ms is None:
            return DELIVER
        track.lost_ms = None
        return _gap(stream, event, GapReason.RECONNECTED, None, None, since_ms)

    @staticmethod
    def _consecutive(
        stream: str, track: Track, event: Trade[Any] | AggTrade[Any], key: int, reason: GapReason
    ) -> Verdict | Gap:
        # trade t and aggTrade a count up by one (§4.4, §4.5): the ids prove continuity
        # across a reconnect and name exactly what is missing.
        last = track.last_id
        if key <= last:
            return _restarted(stream, track, event, key) if track.lost_ms is not None else DUPLICATE
        since_ms = track.last_ms if track.lost_ms is None else track.lost_ms
        track.last_id = key
        track.last_ms = event.event_time
        track.lost_ms = None
        if key == last + 1:
            return DELIVER
        return _gap(stream, event, reason, last + 1, key - 1, since_ms)

    @staticmethod
    def _chained(stream: str, track: Track, event: DepthUpdate[Any]) -> Verdict | Gap:
        # §4.9 step 5: each event's pu must be the previous event's u on this stream.
        last = track.last_id
        final = event.final_update_id
        if final <= last:
            return _restarted(stream, track, event, final) if track.lost_ms is not None else DUPLICATE
        previous = event.previous_final_update_id
        since_ms = track.last_ms if track.lost_ms is None else track.lost_ms
        track.last_id = final
        track.last_ms = event.event_time
        track.lost_ms = None
        if previous == last:
            return DELIVER
        # pu > last: the events ending at last+1 … pu are missing. pu < last: this event
        # overlaps what was delivered, from another chain; nothing nameable is missing but
        # the book built so far cannot take it.
        first, through = (last + 1, previous) if previous > last else (None, None)
        return _gap(stream, event, GapReason.DEPTH_CHAIN_BROKEN, first, through, since_ms)
