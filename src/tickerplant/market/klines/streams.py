"""The kline streams the plant produces: `<symbol>@kline_<interval>` (spec §4.7) and
`<pair>_<contractType>@continuousKline_<interval>` (§4.12), both markets.

Per symbol and interval there is one open candle (``klines.Kline``, the REST series' shape
and arithmetic), pushed every 250 ms when it changed since its last push, and once more with
`"x":true` when its interval closes: at the first tick past its close time (or, if ticks
are further apart than an interval, at the first trade past it). An interval in which
nothing traded has no candle, so no push at all, as the REST series has no row for it:
Binance's behaviour there is unspecified (§4.7, §11 item 9).

A trade does not touch the 15 (USDⓈ-M 16, with `1s`) candles at once: it goes into one
*pending* candle of the trades since the last push, on the grid of the smallest interval
(1 s on USDⓈ-M, 1 min on COIN-M), which every other interval's boundaries fall on. The
pending candle is merged into every interval's candle at the next tick, or when a trade
crosses its grid step; so a trade costs one candle update, and a push one merge per
interval. A trade older than the pending candle (out of order) is counted in it.

The continuous kline of a pair and contract type (``perpetual``, ``current_quarter``,
``next_quarter``) is the candle of the contract that is of that type at the push
(``ContinuousContracts``): its `f`/`L` are that contract's trade ids, where Binance writes
"update ids". COIN-M quarterlies change type at delivery (``instruments.py``'s dates): the
next quarter becomes the current one, with its own candles. `1s` is USDⓈ-M's only (§4.12),
and has no `@kline_1s` (§4.7).

While no kline or continuous kline stream of any of the plant's symbols is taken, the
ticks write nothing: each merges the pending candles, drops the closed ones and clears
``changed``. A replay then plays its rows past them (``stop_ms``, ``Plant.next_stop_ms``)
and ticks them late; a symbol's candles take the last tick its trades pass before the
trades after it go in (``catch_up``), and a late tick leaves them be. What a client that
takes a kline afterwards is pushed is what it would have been pushed with every tick on
time (``tests/feeds/test_replay_runs.py``).

Bounded by design, whatever the trade rate: per symbol, one open candle per interval and
one pending candle, and the stream names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tickerplant.market.demand import Demand
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.klines.candles import Kline, close_time, open_time
from tickerplant.market.klines.past_parts import OwedParts
from tickerplant.market.klines.symbol_candles import NEVER_MS, SymbolCandles
from tickerplant.market.klines.warm import WarmTrade, warm_candles
from tickerplant.market.messages import StreamMessage

__all__ = ["CONTINUOUS_TYPES", "KLINE_PUSH_MS", "ContinuousContracts", "KlineStreams"]

KLINE_PUSH_MS = 250  # the kline streams' update speed (§4.7, §4.12, §4.14)

# The contract types a continuous kline names, lowercase as in the stream name (§3.5); the
# REST `contractType` is the uppercase. `tradifi_perpetual` is USDⓈ-M's, and no contract of
# tickerplant's catalogue is one: its streams are acknowledged and silent, its REST empty.
CONTINUOUS_TYPES: dict[Market, tuple[str, ...]] = {
    Market.UM: ("perpetual", "current_quarter", "next_quarter", "tradifi_perpetual"),
    Market.CM: ("perpetual", "current_quarter", "next_quarter"),
}


class ContinuousContracts:
    """Which contract is each pair's perpetual, current quarter and next quarter at a time:
    the perpetual always; of the quarterlies not yet delivered, the one delivering first is
    the current quarter and the next the next quarter (spec §1.3)."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._perpetual: dict[str, Instrument] = {}
        self._quarterlies: dict[str, list[Instrument]] = {}
        for inst in instruments:
            if inst.contract_type is ContractType.PERPETUAL:
                self._perpetual[inst.pair] = inst
            else:
                self._quarterlies.setdefault(inst.pair, []).append(inst)
        for listed in self._quarterlies.values():
            listed.sort(key=lambda inst: inst.delivery_ms)

    @property
    def pairs(self) -> frozenset[str]:
        return frozenset(self._perpetual) | frozenset(self._quarterlies)

    def contract(self, pair: str, contract_type: str, now_ms: int) -> Instrument | None:
        """The contract of ``pair`` that is of ``contract_type`` (either case) at ``now_ms``."""
        kind = contract_type.lower()
        if kind == "perpetual":
            return self._perpetual.get(pair)
        if kind not in ("current_quarter", "next_quarter"):
            return None
        live = [inst for inst in self._quarterlies.get(pair, ()) if inst.delivery_ms > now_ms]
        index = 0 if kind == "current_quarter" else 1
        return live[index] if index < len(live) else None

    def contract_types(self, now_ms: int) -> dict[str, str]:
        """symbol -> its contract type (uppercase) at ``now_ms``, for every contract that has one."""
        types = {inst.symbol: "PERPETUAL" for inst in self._perpetual.values()}
        for listed in self._quarterlies.values():
            live = [inst for inst in listed if inst.delivery_ms > now_ms]
            for inst, kind in zip(live, ("CURRENT_QUARTER", "NEXT_QUARTER"), strict=False):
                types[inst.symbol] = kind
        return types

    def next_change_ms(self, now_ms: int) -> int:
        """When the types next change: the first delivery after ``now_ms``."""
        deliveries = [
            inst.delivery_ms
            for listed in self._quarterlies.values()
            for inst in listed
            if inst.delivery_ms > now_ms
        ]
        return min(deliveries, default=NEVER_MS)


class KlineStreams:
    """The kline and continuous kline streams of one plant's symbols."""

    def __init__(self, market: Market, symbols: Sequence[SymbolCandles], now_ms: int) -> None:
        self.market = market
        self._symbols = list(symbols)
        self._contracts = ContinuousContracts(sc.inst for sc in self._symbols)
        self._labels = 0  # contract relabellings so far
        self._relabel(now_ms)
        self.next_tick_ms = now_ms + KLINE_PUSH_MS
        self.wanted: Demand = None  # the streams somebody takes (market/demand.py); None: all
        self._silent_key: tuple[int, int | None, int] | None = None  # what _silent was worked out for
        self._silent_symbols: frozenset[SymbolCandles] = frozenset()
        self._finished: set[OwedParts[Any]] = set()  # past parts made since the last tick (``finished``)

    def _relabel(self, now_ms: int) -> None:
        self._labels += 1  # the continuous names may change
        types = self._contracts.contract_types(now_ms)
        for sc in self._symbols:
            sc.set_contract_type(types.get(sc.inst.symbol))
        self._next_change_ms = self._contracts.next_change_ms(now_ms)

    # -- trades (the plant's hot path) ------------------------------------------------

    def add(
        self, sc: SymbolCandles, time_ms: int, trade_id: int, price: int, qty: int, quote: int,
        buyer_is_maker: bool, trades: int, out: list[StreamMessage] | None,
    ) -> None:
        """One trade (or an aggregate of ``trades`` fills from ``trade_id``); ``out`` None
        while warming: a candle closed then is not pushed."""
        p = sc.pending
        if p is not None:
            if time_ms <= p.close_ms:
                if price > p.high:
                    p.high = price
                elif price < p.low:
                    p.low = price
                p.close = price
                p.volume += qty
                p.quote += quote
                p.count += trades
                if not buyer_is_maker:
                    p.taker_buy_volume += qty
                    p.taker_buy_quote += quote
                p.last_id = trade_id + trades - 1
                return
            self._merge(sc, time_ms, out)  # the trade starts a new grid step
            if out is None:
                # Warming: a candle that ended before this trade is gone for good, never
                # pushed (nobody was listening when it closed).
                candles = sc.candles
                for index, k in enumerate(candles):
                    if k is not None and k.close_ms < time_ms:
                        candles[index] = None
        grid = sc.grid_ms
        start = time_ms - time_ms % grid
        taker_qty, taker_quote = (0, 0) if buyer_is_maker else (qty, quote)
        sc.pending = Kline(
            start, start + grid - 1, price, price, price, price, qty, quote, trades, taker_qty,
            taker_quote, trade_id, trade_id + trades - 1,
        )  # fmt: skip

    def add_sums(
        self, sc: SymbolCandles, first_ms: int, first_id: int, last_id: int, open_price: int, high: int,
        low: int, close: int, volume: int, quote: int, count: int, taker_volume: int, taker_quote: int,
        out: list[StreamMessage],
    ) -> None:
        """``add`` of a run of trades within one grid step, in time order, given as its sums
        (the replay of public files, ``market/plant/runs.py``): its first time, first and
        last trade id, first, highest, lowest and last price, and the summed qty, quote,
        fills and taker-buy qty and quote."""
        start = first_ms - first_ms % sc.grid_ms
        run = Kline(
            start, start + sc.grid_ms - 1, open_price, high, low, close, volume, quote, count, taker_volume,
            taker_quote, first_id, last_id,
        )  # fmt: skip
        p = sc.pending
        if p is not None and first_ms <= p.close_ms:
            p.fold(run)  # more of the pending grid step
            return
        if p is not None:
            self._merge(sc, first_ms, out)  # the run starts a new grid step
        sc.pending = run

    def _merge(self, sc: SymbolCandles, now_ms: int, out: list[StreamMessage] | None) -> None:
        """The pending candle into every interval's candle; a candle whose interval ended
        before the pending one's is closed first (pushed final when ``out`` is given)."""
        p = sc.pending
        assert p is not None
        sc.pending = None
        sc.changed = True
        candles = sc.candles
        start_ms = p.open_ms
        for index, k in enumerate(candles):
            if k is not None and k.close_ms >= start_ms:
                k.fold(p)
                continue
            if k is not None and out is not None:  # its interval ended before these trades
                self._push(sc, index, k, True, now_ms, out)
            interval = sc.intervals[index]
            start = open_time(interval, start_ms)
            end = close_time(interval, start)
            candles[index] = Kline(
                start, end, p.open, p.high, p.low, p.close, p.volume, p.quote, p.count,
                p.taker_buy_volume, p.taker_buy_quote, p.first_id, p.last_id,
            )  # fmt: skip
            if end < sc.next_close_ms:
                sc.next_close_ms = end

    # -- the warm start ------------------------------------------------------------------

    def warm(self, sc: SymbolCandles, trades: Sequence[WarmTrade]) -> None:
        """Past trades into the candles, nothing pushed: the state ``add(..., out=None)``
        trade by trade leaves, in one pass (``kline_warm.warm_candles``) when the trades
        are in time order, as a history is; trade by trade otherwise."""
        if not warm_candles(sc, trades):
            for time_ms, trade_id, price, qty, quote, buyer_is_maker in trades:
                self.add(sc, time_ms, trade_id, price, qty, quote, buyer_is_maker, 1, None)

    # -- the cadence ---------------------------------------------------------------------

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Push every candle that changed since its last push, and close (push with
        `"x":true`, then drop) every candle whose interval ended before ``now_ms``."""
        self.next_tick_ms = _next_boundary(self.next_tick_ms, KLINE_PUSH_MS, now_ms)
        if now_ms >= self._next_change_ms:
            self._relabel(now_ms)
        silent = self._silent()
        made, self._finished = self._finished, set()  # past parts made since (``past_parts.owed_piece``)
        for sc in self._symbols:
            if sc.ticked_ms >= now_ms:
                continue  # caught up to this tick already, ahead of it (catch_up)
            if sc in silent:  # the same state, no push to write
                self._settle(sc, now_ms)
                continue
            if sc.pending is not None:
                self._merge(sc, now_ms, out)
            if sc.owed is not None and sc.owed in made:  # a held candle's past part made: its push goes now
                sc.changed = True
            changed = sc.changed
            if not changed and sc.next_close_ms >= now_ms:
                continue
            sc.changed = False
            candles = sc.candles
            next_close = NEVER_MS
            for index, k in enumerate(candles):
                if k is None:
                    continue
                if k.close_ms < now_ms:
                    self._push(sc, index, k, True, now_ms, out)
                    candles[index] = None
                    continue
                if changed:
                    self._push(sc, index, k, False, now_ms, out)
                if k.close_ms < next_close:
                    next_close = k.close_ms
            sc.next_close_ms = next_close

    def _settle(self, sc: SymbolCandles, now_ms: int) -> None:
        """A tick of a symbol none of whose streams somebody takes: the pending candle
        merged, the closed candles dropped, nothing written."""
        if sc.pending is not None:
            self._merge(sc, now_ms, None)
        if not sc.changed and sc.next_close_ms >= now_ms:
            return
        sc.changed = False
        candles = sc.candles
        next_close = NEVER_MS
        for index, k in enumerate(candles):
            if k is not None:
                if k.close_ms < now_ms:
                    candles[index] = None
                elif k.close_ms < next_close:
                    next_close = k.close_ms
        sc.next_close_ms = next_close

    # -- rows played past the ticks (the replay's stretches) -------------------------------

    @property
    def stop_ms(self) -> int:
        """How far rows played in bulk may go before this cadence ticks: its next tick,
        unless no kline or continuous kline stream of any symbol is taken. Then its ticks
        write nothing and only settle each symbol's candles, which ``catch_up`` does for a
        symbol as its trades pass them; the ticks themselves follow, late, at their own
        times (``tick`` leaves the symbols caught up). They still stop rows at the tick
        that relabels the continuous contracts: the labels say whose streams are taken."""
        due = self.next_tick_ms
        change = self._next_change_ms
        if due >= change or len(self._silent()) < len(self._symbols):
            return due
        return due + (change - due + KLINE_PUSH_MS - 1) // KLINE_PUSH_MS * KLINE_PUSH_MS

    def passed_tick_ms(self, played_ms: int) -> int | None:
        """The last tick due before rows played at ``played_ms`` (None: none is due): rows
        after it go in after that tick (a tick at ``t`` holds the trades at ``t``)."""
        due = self.next_tick_ms
        if due >= played_ms:
            return None
        return due + (played_ms - 1 - due) // KLINE_PUSH_MS * KLINE_PUSH_MS

    def catch_up(self, sc: SymbolCandles, tick_ms: int) -> None:
        """The ticks up to ``tick_ms`` (``passed_tick_ms``), for ``sc`` alone, ahead of the
        plant's: before its trades after ``tick_ms`` go in. Only a silent symbol's (no
        push is due from these ticks): their effect is ``_settle``, and a symbol's candles
        settled at the last of several silent ticks with no trade between are as settled
        at each (the pending candle is merged either way; what changed since and what has
        closed are reckoned from the last)."""
        if sc.ticked_ms < tick_ms and sc in self._silent():
            sc.ticked_ms = tick_ms
            self._settle(sc, tick_ms)

    def owing(self) -> list[OwedParts[Any]]:
        """The held candles' past parts being made, of the symbols somebody takes."""
        silent = self._silent()
        return [sc.owed for sc in self._symbols if sc.owed and sc.owed.making and sc not in silent]

    def finished(self, parts: set[OwedParts[Any]]) -> None:
        """Past parts finished (of any streams'): their held candles push at the next tick."""
        self._finished |= parts

    def _silent(self) -> frozenset[SymbolCandles]:
        """The symbols none of whose kline and continuous kline streams somebody takes:
        their ticks write nothing (``_push`` would skip every candle). Worked out again
        when the demand's membership (``Subscribed.version``) or the contract labels
        change; every tick for a demand without a version."""
        wanted = self.wanted
        if wanted is None:
            return frozenset()
        version = getattr(wanted, "version", None)
        key = (id(wanted), version, self._labels)
        if version is not None and key == self._silent_key:
            return self._silent_symbols
        self._silent_key = key
        self._silent_symbols = frozenset(
            sc for sc in self._symbols
            if not any(name is not None and name in wanted for name in sc.kline_names)
            and not any(name in wanted for name in sc.continuous_names)
        )  # fmt: skip
        return self._silent_symbols

    def _push(
        self, sc: SymbolCandles, index: int, k: Kline, closed: bool, now_ms: int, out: list[StreamMessage]
    ) -> None:
        """Candle ``k`` on its kline and continuous kline streams: the bytes their structs
        (``derived_events.Kline``, ``ContinuousKline``) encode to, from templates; written
        only for the streams somebody takes (the candle's state is the same either way)."""
        wanted = self.wanted
        name = sc.kline_names[index]
        if name is not None and wanted is not None and name not in wanted:
            name = None
        kind = sc.contract_type
        if kind is not None and wanted is not None and sc.continuous_names[index] not in wanted:
            kind = None
        if name is None and kind is None:
            return
        owed = sc.owed
        if owed is not None:  # the candle open at the live start: the past's part in front
            held, part = owed.part(index, k.open_ms, closed)
            if held:
                return  # until its part is made (tick)
            if part is not None:
                k = _after(part, k)
        frames = sc.frames
        tail = frames.tail(k, sc.interval_texts[index], closed)  # once for both payloads
        head = (now_ms, k.open_ms, k.close_ms)
        if name is not None:
            out.append(StreamMessage(name, frames.kline % head + tail))
        if kind is not None:
            out.append(StreamMessage(sc.continuous_names[index], frames.continuous(kind) % head + tail))


def _after(part: Kline, k: Kline) -> Kline:
    """Candle ``k`` with the past's ``part`` of its interval in front (past_parts.py)."""
    whole = Kline(
        k.open_ms, k.close_ms, part.open, part.high, part.low, part.close, part.volume, part.quote,
        part.count, part.taker_buy_volume, part.taker_buy_quote, part.first_id, part.last_id,
    )  # fmt: skip
    whole.fold(k)  # the live candle's trades after the past's
    return whole


def _next_boundary(previous_ms: int, interval_ms: int, now_ms: int) -> int:
    """The next multiple of the cadence after now, without drifting or bunching up."""
    missed = (now_ms - previous_ms) // interval_ms + 1
    return previous_ms + missed * interval_ms
