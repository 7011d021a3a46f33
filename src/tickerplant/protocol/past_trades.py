"""The history answers' past trades: what traded before the live market started, for a
source that has one (the simulator's, ``market/history``), spliced in front of the market
view's ring (``market/trades/history.py``) by `aggTrades`, `trades` and `historicalTrades`
(spec §7.9).

Trades before the live start's minute are the past's; the view's ring holds the live ones,
whose ids (the trades' and the aggregate trades' each) go on from the past's. `aggTrades`
reads the past's aggregates, `trades` and `historicalTrades` its trades, one row each. From
an id or a start, the first ``limit`` in id order, past then live; the latest (or up to an
end), the last ``limit``, live then as much past as is missing.

The past never changes, so what a query takes from it is kept (``ANSWERS_KEPT`` of each
kind, the least recently used dropped first): the latest trades before the live ones as
their encoded rows (the longest asked, sliced), the trades of a query from an id or a time.
A client polling the latest 1,000 trades pays for the past once; each answer after is the
live part and a copy of bytes. While the latest trades are being made, a piece at a time
(``recent_pieces``), every answer that needs them waits on the one making
(``protocol/later.py``'s ``Making``, at most ``MAKINGS_KEPT``): a burst of answers routed
before the first is made makes them once, not once each.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator

from tickerplant.market.history.counts import id_bases
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.path import Lru
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.history.tape import PastTrade
from tickerplant.market.instruments import Instrument
from tickerplant.market.trades.history import Aggregate
from tickerplant.protocol.later import Making

__all__ = ["ANSWERS_KEPT", "MAKINGS_KEPT", "PastTrades"]

ANSWERS_KEPT = 512  # kept per kind of past answer
MAKINGS_KEPT = 64  # the latest trades being made, shared by the answers that wait for them
_RECENT_MOST = 1000  # `trades`' largest limit: the past's latest trades are kept this long
_ROWS_A_PIECE = 250  # past trades' rows encoded in one piece of an answer (later.py)

_RecentKey = tuple[str, str, int]  # (kind of answer, symbol, the id the rows end before)


class PastTrades:
    """One server's past trades (``past``), before the live start of ``spec``."""

    def __init__(self, past: SimulatedPast, spec: PastSpec) -> None:
        self.past = past
        self.live_from_ms = live_from_ms = spec.live_from_ms
        # this server's numbering of the past's trades and aggregates (market/history/counts.py)
        self.trade_base, self.agg_base = id_bases(live_from_ms)
        self.until_ms = spec.until_ms  # the first live minute
        self._recent_rows: Lru[_RecentKey, list[bytes]] = Lru(ANSWERS_KEPT)
        self._makings: Lru[_RecentKey, Making[list[bytes]]] = Lru(MAKINGS_KEPT)
        self._trades: Lru[tuple[object, ...], list[Aggregate]] = Lru(ANSWERS_KEPT)

    def knows(self, symbol: str) -> bool:
        return symbol in self.past.instruments

    def holds_trades(
        self, inst: Instrument, from_id: int | None, start_ms: int | None, aggregates: bool = True
    ) -> bool:
        """Whether an ``aggTrades`` query (``aggregates`` False: a ``historicalTrades``
        query, ``from_id`` a trade id) reaches back before the live start."""
        if not self.knows(inst.symbol):
            return False
        if from_id is not None:
            return from_id < self._first_live_id(inst, aggregates)
        return start_ms is not None and start_ms < self.until_ms

    def agg_trades(
        self,
        inst: Instrument,
        from_id: int | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        live: Callable[[int | None, int | None, int | None, int], list[Aggregate]],
    ) -> list[Aggregate]:
        """``aggTrades``: the past's from ``from_id`` or ``start_ms``, then the view's
        (``live(from_id, start, end, limit)``) for what is missing."""
        until = self.until_ms
        out: list[Aggregate] = []
        if self.holds_trades(inst, from_id, start_ms):
            symbol, past = inst.symbol, self.past
            raw_id = None if from_id is None else from_id - self.agg_base

            def made() -> list[Aggregate]:
                found = past.aggregates(symbol, raw_id, start_ms, end_ms, limit, until)
                return list(map(self.numbered, found))

            out = list(self._trades.get(("aggTrades", symbol, from_id, start_ms, end_ms, limit), made))
        if len(out) < limit and (end_ms is None or end_ms >= until):
            if out:
                out += live(out[-1].agg_id + 1, None, end_ms, limit - len(out))
            else:
                out = live(from_id, start_ms, end_ms, limit)
        return out

    def agg_trades_until(
        self, inst: Instrument, end_ms: int, count: int, first: int | None
    ) -> list[Aggregate]:
        """The past's last ``count`` aggregates at or before ``end_ms``, numbered: `aggTrades`
        with only `endTime`, in front of the view's up to it, whose first has the id ``first``
        (None: none; the view holds the past's last aggregate as its last price)."""
        if count <= 0 or not self.knows(inst.symbol):
            return []
        symbol, until = inst.symbol, self.until_ms
        before = None if first is None else first - self.agg_base

        def made() -> list[Aggregate]:
            return list(map(self.numbered, self.past.aggregates_until(symbol, count, end_ms, until, before)))

        return list(self._trades.get(("aggTradesUntil", symbol, end_ms, count, first), made))

    def trades(
        self, inst: Instrument, from_id: int, limit: int, live: Callable[[int, int], list[Aggregate]]
    ) -> list[Aggregate]:
        """``historicalTrades`` from the trade id ``from_id``: the past's trades (a row each,
        as one-trade aggregates), then the view's from the trade after them
        (``live(trade_id, limit)``) for what is missing."""
        symbol, past, raw_id = inst.symbol, self.past, from_id - self.trade_base

        def made() -> list[Aggregate]:
            found = past.trades(symbol, raw_id, None, None, limit, self.until_ms)
            return [self.numbered(_aggregate(t)) for t in found]

        out = list(self._trades.get(("trades", symbol, from_id, limit), made))
        if len(out) < limit:
            out += live(out[-1].last_id + 1 if out else from_id, limit - len(out))
        return out

    def recent_rows(
        self, inst: Instrument, count: int, first: int | None, kind: str, row: Callable[[Aggregate], bytes]
    ) -> bytes:
        """The encoded rows (``row``, one ``kind`` of answer: ``aggTrades`` the past's
        aggregates, else its trades) of the latest ``count`` of them before the id ``first``
        (None: before the live start): each row encoded once and kept with the longest run
        asked, so a poll costs a join."""
        if count <= 0 or not self.knows(inst.symbol):
            return b""
        key = self._recent_key(inst, first, kind)
        rows = self._recent_rows.get(key, lambda: self._making(key, row).value)
        return b",".join(rows[max(0, len(rows) - count) :])

    def recent_pieces(
        self, inst: Instrument, count: int, first: int | None, kind: str, row: Callable[[Aggregate], bytes]
    ) -> Iterator[None]:
        """What ``recent_rows`` with these arguments makes, made in pieces (the trades a
        minute of the past a piece, then their rows a few hundred a piece: ~15 ms in all for
        1,000 of a busy symbol), for an answer made in pieces (``protocol/later.py``);
        nothing when kept. Answers asking the same while it is made wait on one making."""
        if count <= 0 or not self.knows(inst.symbol):
            return
        key = self._recent_key(inst, first, kind)
        if key in self._recent_rows:
            return
        making = self._makings.get(key, lambda: Making(self._recent_work(key, row)))
        if making.failed:  # a bug in a piece, answered 503 to whoever waited: begun again
            self._makings.discard(key)
            making = self._makings.get(key, lambda: Making(self._recent_work(key, row)))
        yield from making.pieces()
        self._recent_rows.put(key, making.value)
        self._makings.discard(key)

    def _recent_key(self, inst: Instrument, first: int | None, kind: str) -> _RecentKey:
        first_id = first if first is not None else self._first_live_id(inst, kind == "aggTrades")
        return kind, inst.symbol, first_id

    def _making(self, key: _RecentKey, row: Callable[[Aggregate], bytes]) -> Making[list[bytes]]:
        """The making of ``key``'s rows, made whole now (an answer with no turns to share)."""
        making = Making(self._recent_work(key, row))
        for _ in making.pieces():
            pass
        return making

    def _recent_work(
        self, key: _RecentKey, row: Callable[[Aggregate], bytes]
    ) -> Generator[None, None, list[bytes]]:
        """The rows (``row``) of the past's latest ``_RECENT_MOST`` aggregates (``kind``
        aggTrades) or trades (as one-trade aggregates) before the id ``first_id``, numbered
        with this server's ids: the past's minutes one a piece, then ``_ROWS_A_PIECE`` rows."""
        kind, symbol, first_id = key
        past, until, most = self.past, self.until_ms, _RECENT_MOST
        if kind == "aggTrades":
            older = yield from past.last_aggregate_pieces(symbol, most, first_id - self.agg_base, until)
        else:
            trades = yield from past.last_trade_pieces(symbol, most, first_id - self.trade_base, until)
            older = [_aggregate(t) for t in trades]
        rows: list[bytes] = []
        numbered = self.numbered
        for i in range(0, len(older), _ROWS_A_PIECE):
            rows += [row(numbered(a)) for a in older[i : i + _ROWS_A_PIECE]]
            yield
        return rows

    def numbered(self, a: Aggregate) -> Aggregate:
        """The past's aggregate ``a`` (or trade, as one) with this server's ids."""
        trade_base = self.trade_base
        return Aggregate(a.agg_id + self.agg_base, a.first_id + trade_base, a.last_id + trade_base, a.time_ms,
                         a.price, a.qty, a.buyer_is_maker)  # fmt: skip

    def _first_live_id(self, inst: Instrument, aggregates: bool) -> int:
        """The live market's first aggregate id (``aggregates``), else its first trade id."""
        trade_id, agg_id = self.past.live_ids(inst.symbol, self.live_from_ms)
        return agg_id + self.agg_base if aggregates else trade_id + self.trade_base


def _aggregate(t: PastTrade) -> Aggregate:
    """A past trade as a ``trades`` row reads it: an aggregate of it alone (§7.9)."""
    return Aggregate(t.agg_id, t.trade_id, t.trade_id, t.time_ms, t.price, t.qty, t.buyer_is_maker)
