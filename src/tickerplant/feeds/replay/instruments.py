"""The instruments a replay serves, inferred from what its files hold. Pure: the caller
reads the files and hands in what it found (digits sampled from public files, a
recording's header and items).

A replayed symbol is served as the catalogue's instrument (or its perpetual's, for a
dated contract), widened to the finest price and quantity digits its files use, since
exchangeInfo is served before the first row is played and every row must fit the units
it announces; a symbol the catalogue does not know is made from its name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime

import msgspec

from tickerplant.market.instruments import PERPETUAL_DELIVERY_MS, ContractType, Instrument, Market
from tickerplant.market.payloads.events import DECIMAL_ROLES, DepthUpdate, payload_decoder
from tickerplant.market.units import above_zero, decimals_of, to_units
from tickerplant.recording.format import Item, Recorded, RecordedSnapshot

__all__ = ["FinestDigits", "replay_instrument"]

_DELIVERY_HOUR_UTC = 8


class FinestDigits:
    """The finest (price, quantity) digits seen per symbol, and the market of each."""

    def __init__(self) -> None:
        self.digits: dict[str, tuple[int, int]] = {}
        self.prices: dict[str, str] = {}  # the first price seen per symbol, as written
        self.markets: dict[str, Market] = {}
        self._streamed: dict[str, Market] = {}  # symbols a recording subscribed

    def add_public(
        self, symbol: str, market: Market, price_decimals: int, qty_decimals: int, price: str = ""
    ) -> None:
        """What ``sample_decimals`` found in one public file of ``symbol``."""
        self._widen(symbol, price_decimals, qty_decimals)
        if price:
            self.prices.setdefault(symbol, price)
        self.markets[symbol] = market

    def add_recording(self, market: Market, streams: Iterable[str], items: Iterator[Item]) -> None:
        """A recording of ``market``: its subscribed ``streams`` and its ``items`` (only the
        first ones are sampled)."""
        for stream in streams:
            symbol, _, kind = stream.partition("@")
            if not symbol.startswith("!") and not _names_a_pair(market, symbol, kind):
                self._streamed.setdefault(symbol.upper(), market)
        for symbol, (pd, qd, price) in _recorded_decimals(items).items():
            self._widen(symbol, pd, qd)
            if price:
                self.prices.setdefault(symbol, price)
            self.markets.setdefault(symbol, market)

    def instruments(self, known: Mapping[str, Instrument]) -> dict[Market, list[Instrument]]:
        """Each market's instruments, by symbol; ``known``: the catalogue's, by symbol."""
        markets = dict(self.markets)
        digits = dict(self.digits)
        for symbol, market in self._streamed.items():
            markets.setdefault(symbol, market)
            digits.setdefault(symbol, (0, 0))
        instruments: dict[Market, list[Instrument]] = {market: [] for market in Market}
        for symbol in sorted(markets):
            price = self.prices.get(symbol, "")
            inst = replay_instrument(symbol, markets[symbol], known, *digits[symbol], price)
            instruments[inst.market].append(inst)
        return instruments

    def _widen(self, symbol: str, price_decimals: int, qty_decimals: int) -> None:
        old = self.digits.get(symbol, (0, 0))
        self.digits[symbol] = (max(old[0], price_decimals), max(old[1], qty_decimals))


def _names_a_pair(market: Market, name: str, kind: str) -> bool:
    """A stream of a pair, not of a symbol (spec §4.7, §4.12): `<pair>_<contractType>@
    continuousKline_…`, `<pair>@indexPriceKline_…`, and COIN-M's `<pair>@indexPrice` and
    `<pair>@markPrice` (a COIN-M symbol always has a ``_``: ``BTCUSD_PERP``)."""
    if kind.startswith(("continuousKline", "indexPriceKline")):
        return True
    return market is Market.CM and "_" not in name and kind.startswith(("indexPrice", "markPrice"))


# Decoded with the payloads' one definition, decimals kept as the strings they were written.
_payloads = payload_decoder(str)


class _Levels(msgspec.Struct):
    """A REST depth answer's levels (a recorded snapshot), decimals as written."""

    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


_levels = msgspec.json.Decoder(_Levels)


def _level_decimals(*sides: list[tuple[str, str]]) -> tuple[int, int]:
    levels = [level for side in sides for level in side]
    prices = max((decimals_of(price) for price, _ in levels), default=0)
    return prices, max((decimals_of(qty) for _, qty in levels), default=0)


def _recorded_decimals(items: Iterator[Item], sample: int = 20_000) -> dict[str, tuple[int, int, str]]:
    """The finest price and quantity digits of each symbol in a recording's first messages:
    the prices and quantities each payload writes at the instrument's tick and step
    (``DECIMAL_ROLES``), and the levels of depth events and recorded depth snapshots; a
    payload of another type is passed over. Beside them, the first price above 0 each
    symbol's payloads write (``""``: none)."""
    finest: dict[str, tuple[int, int, str]] = {}

    def widen(symbol: str, pd: int, qd: int, prices: Iterable[str] = ()) -> None:
        old = finest.get(symbol, (0, 0, ""))
        first = old[2] or next((p for p in prices if above_zero(p)), "")
        finest[symbol] = (max(old[0], pd), max(old[1], qd), first)

    for item in itertools.islice(items, sample):
        if type(item) is RecordedSnapshot:  # a depth line: its levels are served too
            try:
                levels = _levels.decode(item.data)
            except msgspec.DecodeError:
                continue
            widen(item.symbol, *_level_decimals(levels.bids, levels.asks), (p for p, _ in levels.bids))
            continue
        if type(item) is not Recorded:
            continue
        try:
            decoded = _payloads.decode(item.data)
        except msgspec.DecodeError:  # not JSON, or not a payload of ours
            continue
        for event in decoded if isinstance(decoded, list) else (decoded,):
            if type(event) is DepthUpdate:
                widen(event.symbol, *_level_decimals(event.bids, event.asks), (p for p, _ in event.bids))
                continue
            roles = DECIMAL_ROLES.get(type(event))
            if roles is None:
                continue
            pd = max((decimals_of(getattr(event, name)) for name in roles.prices), default=0)
            qd = max((decimals_of(getattr(event, name)) for name in roles.quantities), default=0)
            widen(event.symbol, pd, qd, (getattr(event, name) for name in roles.prices))
    return finest


def replay_instrument(
    symbol: str, market: Market, known: Mapping[str, Instrument], price_decimals: int, qty_decimals: int,
    price: str = "",
) -> Instrument:  # fmt: skip
    """The instrument a replayed symbol is served as: the catalogue's (or its perpetual's,
    for a dated contract), widened to the digits the files use; else one made from the name:
    its tick, step and least quantity the finest digit the files write, priced at ``price``,
    the files' first (what its filters' maxPrice and a COIN-M pair's brackets are sized by:
    ``brackets.coin_scale``), a whole unit when they have none."""
    pair, _, suffix = symbol.partition("_")
    base = known.get(symbol) or known.get(pair if market is Market.UM else f"{pair}_PERP")
    made = base is None
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
    initial, tick, step = base.initial_price * price_scale, base.tick * price_scale, base.step * qty_scale
    if made:  # its tick and step the finest digit its files write (no listing says coarser)
        tick = step = 1
        if price:
            with contextlib.suppress(ValueError):  # finer than the units (not sampled with them)
                initial = max(1, to_units(price, pd))
    return dataclasses.replace(
        base,
        symbol=symbol, contract_type=contract_type, delivery_ms=delivery_ms,
        price_decimals=pd, tick=tick, initial_price=initial,
        qty_decimals=qd, step=step, min_qty=step if made else base.min_qty * qty_scale,
        max_qty=base.max_qty * qty_scale,
    )  # fmt: skip
