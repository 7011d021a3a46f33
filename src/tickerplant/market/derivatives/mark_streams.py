"""The plant's mark-price streams: the last ``MarkPrice`` per symbol, pushed on a cadence.

The source computes mark prices, index prices and funding (``market/derivatives/mark_price.py``); this
module only keeps the last of each and formats and paces them (spec §4.6, §4.12, §4.14):

- `<symbol>@markPrice@1s` every 1000 ms and `<symbol>@markPrice` every 3000 ms, both
  markets, ``E`` the whole second of the push (on Binance a whole second on
  `<symbol>@markPrice@1s`, §4.6; tickerplant stamps every mark push alike);
- USDⓈ-M `!markPrice@arr@1s` and `!markPrice@arr`: one array of every symbol per push;
- COIN-M `<pair>@markPrice@1s` / `<pair>@markPrice`: an array of the pair's contracts,
  perpetual and delivery; and `<pair>@indexPrice@1s` / `<pair>@indexPrice`;
- USDⓈ-M's asset index, `!assetIndex@arr` and `<assetSymbol>@assetIndex`, each second, of
  these marks (``asset_index_streams.py``).

In the 2026 payload format every markPriceUpdate ends with ``st`` (§4.13), the COIN-M
pair arrays' objects too (they are the symbols' payloads); index prices do not get it.

The 3000 ms pushes fall on whole multiples of 3 s, where they carry the same bytes as the
1 s push of that second. A symbol is pushed once its source gave it a mark price.

Two internal streams, which no client can name, tell the gateways' market views what the
public payloads do not carry (``market/derivatives/mark_state.py`` keeps it for REST):
`<symbol>@markState` (``MarkState``: each mark price, with the interest rate and, where
the source knows it, the premium index) and
`<symbol>@fundingEvent` (``FundingEvent``: each funding, for the funding-rate history).

COIN-M's mark- and index-price klines are made of the same updates, and pushed on their
own 250 ms cadence (``market/klines/price_streams.py``); ``tick`` runs both.

Memory is fixed per symbol: the last ``MarkPrice`` and, per COIN-M pair, the last index
(and the price klines' open candles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import msgspec

from tickerplant.market.demand import Demand
from tickerplant.market.derivatives.asset_index_streams import push_asset_index
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.price_streams import PriceKlineStreams
from tickerplant.market.messages import StreamKind, StreamMessage
from tickerplant.market.payloads import derived_events
from tickerplant.market.payloads.events import PayloadFormat, encoder
from tickerplant.market.units import SECOND_MS, fixed
from tickerplant.market.updates import MARK_DECIMALS, FundingRate, IndexPrice, MarkPrice

__all__ = [
    "FUNDING_EVENT",
    "MARK_STATE",
    "FundingEvent",
    "MarkState",
    "MarkStreams",
    "internal_names",
]

MARK_STATE = "markState"  # `<symbol>@markState`, internal
FUNDING_EVENT = "fundingEvent"  # `<symbol>@fundingEvent`, internal
_SLOW_MS = 3 * SECOND_MS  # the unsuffixed streams' cadence; the `@1s` ones push every second
# E,s,p,P,i,r,T, and st in the 2026 payloads (§4.13: markPrice gets no ps)
_MARK = {
    (market, payload_format): encoder(derived_events.MarkPriceUpdate, market, payload_format)
    for market in Market
    for payload_format in PayloadFormat
}
_INDEX = encoder(derived_events.IndexPriceUpdate, Market.CM)  # E,i,p


class MarkState(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`<symbol>@markState`: a ``MarkPrice`` as the market view keeps it; decimals are
    written with 8 digits, as premiumIndex answers them (§7.9). ``pi`` is left out where
    the source does not know it."""

    s: str  # symbol
    t: int  # time the source computed it, ms
    p: str  # mark price
    i: str  # index price
    P: str  # estimated settle price
    r: str  # funding rate of the next funding; "" for a delivery contract
    ir: str  # interest rate; "" for a delivery contract
    T: int  # next funding time; 0 for a delivery contract
    pi: str = ""  # premium index (the impact premium, for premiumIndexKlines); "": not known


class FundingEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@fundingEvent`: one funding (a row of `GET /fapi/v1/fundingRate`, §7.9), and
    when its source told of it on the source's own clock, which the venue measures the
    funding's lateness by (``venue/clearing/funding.py``); the row shows ``s``, ``T``, ``r``
    and ``p`` alone."""

    s: str  # symbol
    T: int  # funding time, ms
    r: str  # funding rate
    p: str  # mark price at the funding time
    E: int  # when the source told of it, ms, on the source's clock: the plant's time at it, or
    # a relayed or recorded push's E, the first whose T had moved past this funding (§4.6)


def internal_names(symbol: str) -> tuple[str, str]:
    """The internal streams of ``symbol``: (`@markState`, `@fundingEvent`)."""
    lower = symbol.lower()
    return f"{lower}@{MARK_STATE}", f"{lower}@{FUNDING_EVENT}"


def _mark(units: int) -> str:
    return fixed(units, MARK_DECIMALS)


def _rate(units: int | None) -> str:
    return "" if units is None else fixed(units, MARK_DECIMALS)


class _Symbol:
    __slots__ = ("fast", "funding", "last", "pair", "slow", "state")

    def __init__(self, inst: Instrument) -> None:
        lower = inst.symbol.lower()
        self.pair = inst.pair
        self.fast = f"{lower}@{StreamKind.MARK_PRICE.value}@1s"
        self.slow = f"{lower}@{StreamKind.MARK_PRICE.value}"
        self.state, self.funding = internal_names(inst.symbol)
        self.last: MarkPrice | None = None


class MarkStreams:
    """Keeps the last mark price per symbol and pushes the mark-price streams; see the
    module docstring."""

    def __init__(
        self,
        market: Market,
        instruments: Sequence[Instrument],
        now_ms: int,
        encode: Callable[[Any], bytes],
        payload_format: PayloadFormat = PayloadFormat.CLASSIC,
    ) -> None:
        self._um = market is Market.UM
        self._make = _MARK[market, payload_format]
        self._encode = encode
        self._symbols = {inst.symbol: _Symbol(inst) for inst in instruments}
        self._index: dict[str, IndexPrice] = {}  # COIN-M: pair -> its last index
        # COIN-M: pair -> its `<pair>@markPrice` and `<pair>@indexPrice` names (§4.6, §4.12)
        self._pair_names = {
            inst.pair: (f"{inst.pair.lower()}@{StreamKind.MARK_PRICE.value}",
                        f"{inst.pair.lower()}@{StreamKind.INDEX_PRICE.value}")
            for inst in instruments
        }  # fmt: skip
        self._next_mark_ms = (now_ms // SECOND_MS + 1) * SECOND_MS
        self.price_klines = PriceKlineStreams(market, instruments, now_ms, encode)  # COIN-M's
        self._wanted: Demand = None  # the streams somebody takes (market/demand.py); None: all
        self._marked = False  # a mark was given: this plant makes the marks (and the asset index)

    def follow(self, wanted: Demand) -> None:
        """Write only the public streams in ``wanted`` (None: all); the internal mark-state
        and funding notes always."""
        self._wanted = wanted
        self.price_klines.wanted = wanted

    @property
    def next_tick_ms(self) -> int:
        return min(self._next_mark_ms, self.price_klines.next_tick_ms)

    def apply(
        self, update: MarkPrice | IndexPrice | FundingRate, now_ms: int, out: list[StreamMessage]
    ) -> None:
        if type(update) is MarkPrice:
            symbol = self._symbols[update.symbol]
            symbol.last = update
            self._marked = True
            state = MarkState(
                update.symbol, update.time_ms, _mark(update.mark_price), _mark(update.index_price),
                _mark(update.settle_price), _rate(update.funding_rate), _rate(update.interest_rate),
                update.next_funding_ms, _rate(update.premium_index),
            )  # fmt: skip
            out.append(StreamMessage(symbol.state, self._encode(state)))
            self.price_klines.mark(update, out)
        elif type(update) is IndexPrice:
            self._index[update.pair] = update
            self.price_klines.index(update, out)
        else:
            assert type(update) is FundingRate
            rate, mark = _mark(update.rate), _mark(update.mark_price)
            event = FundingEvent(update.symbol, update.funding_ms, rate, mark, now_ms)  # told now
            out.append(StreamMessage(self._symbols[update.symbol].funding, self._encode(event)))

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Push every mark stream due at ``now_ms``: the `@1s` ones at each whole second, the
        others at each whole 3 s, stamped with that second; and the price klines due."""
        self.price_klines.tick(now_ms, out)
        if now_ms < self._next_mark_ms:
            return
        second = now_ms // SECOND_MS * SECOND_MS
        self._next_mark_ms = second + SECOND_MS
        slow = second % _SLOW_MS == 0
        encode = self._encode
        make = self._make
        wanted = self._wanted
        every: list[Any] = []  # USDⓈ-M: every symbol's payload
        by_pair: dict[str, list[Any]] = {}  # COIN-M: each pair's contracts' payloads
        want_every = self._um and self._wants(StreamKind.ALL_MARK_PRICE.value, slow)
        for symbol in self._symbols.values():
            mark = symbol.last
            if mark is None:
                continue
            fast = wanted is None or symbol.fast in wanted
            slow_too = slow and (wanted is None or symbol.slow in wanted)
            in_pair = not self._um and self._wants(self._pair_names[symbol.pair][0], slow)
            if not (fast or slow_too or want_every or in_pair):
                continue  # nobody takes any push of this mark (market/demand.py)
            payload = make(
                second, mark.symbol, _mark(mark.mark_price), _mark(mark.settle_price),
                _mark(mark.index_price), _rate(mark.funding_rate), mark.next_funding_ms,
            )  # fmt: skip
            if fast or slow_too:
                encoded = encode(payload)
                if fast:
                    out.append(StreamMessage(symbol.fast, encoded))
                if slow_too:
                    out.append(StreamMessage(symbol.slow, encoded))
            if want_every:
                every.append(payload)
            elif in_pair:
                by_pair.setdefault(symbol.pair, []).append(payload)
        if every:
            self._push(StreamKind.ALL_MARK_PRICE.value, encode(every), slow, out)
        for pair, rows in by_pair.items():
            self._push(self._pair_names[pair][0], encode(rows), slow, out)
        for pair, index in self._index.items():
            name = self._pair_names[pair][1]
            if self._wants(name, slow):
                self._push(name, encode(_INDEX(second, pair, _mark(index.price))), slow, out)
        if self._um and self._marked:  # the asset index, of these marks (asset_index_streams.py)
            push_asset_index(second, self._mark_of, wanted, encode, out)

    def _mark_of(self, symbol: str) -> Fraction | None:
        """``symbol``'s last mark pushed, None before its first (or not listed here)."""
        held = self._symbols.get(symbol)
        last = held.last if held is not None else None
        return None if last is None else Fraction(last.mark_price, 10**MARK_DECIMALS)

    def _wants(self, name: str, slow: bool) -> bool:
        """Whether somebody takes `<name>@1s`, or `<name>` when this push is a slow one too."""
        wanted = self._wanted
        return wanted is None or f"{name}@1s" in wanted or (slow and name in wanted)

    def _push(self, name: str, payload: bytes, slow: bool, out: list[StreamMessage]) -> None:
        wanted = self._wanted
        fast = f"{name}@1s"
        if wanted is None or fast in wanted:
            out.append(StreamMessage(fast, payload))
        if slow and (wanted is None or name in wanted):
            out.append(StreamMessage(name, payload))
