"""What an upstream's exchangeInfo body lists (spec §7.3): Binance's or another
tickerplant's body read back into instruments, for a relay to list what it relays.

The writing side is ``exchange_info.py``.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal, InvalidOperation
from typing import Final, NamedTuple

import msgspec

from tickerplant.market.instruments import ContractType, Instrument, Market, Published
from tickerplant.market.units import decimals_of, to_units

__all__ = ["Listing", "instruments_from_exchange_info", "priced", "read_exchange_info"]

# Lenient where the writing side is exact: only the keys an Instrument needs are read, key
# order and unknown keys or filters (POSITION_RISK_CONTROL, MAX_NUM_ALGO_ORDERS) do not
# matter, and a symbol that cannot be read is skipped with the reason instead of failing
# the whole listing, so one odd symbol upstream does not stop a relay.


class _FilterIn(msgspec.Struct, frozen=True):
    filterType: str  # "PRICE_FILTER", "LOT_SIZE", …
    tickSize: str | None = None  # PRICE_FILTER
    minPrice: str | None = None  # PRICE_FILTER
    maxPrice: str | None = None  # PRICE_FILTER
    stepSize: str | None = None  # LOT_SIZE
    minQty: str | None = None  # LOT_SIZE
    maxQty: str | None = None  # LOT_SIZE, MARKET_LOT_SIZE
    limit: int | None = None  # MAX_NUM_ORDERS
    notional: str | None = None  # MIN_NOTIONAL
    multiplierUp: str | None = None  # PERCENT_PRICE
    multiplierDown: str | None = None
    multiplierDecimal: str | int | None = None  # a string live, an int in old docs


class _SymbolIn(msgspec.Struct, frozen=True):
    symbol: str  # "BTCUSDT", "BTCUSD_PERP"
    pair: str  # "BTCUSDT", "BTCUSD"
    contractType: str  # "PERPETUAL", "CURRENT_QUARTER", "TRADIFI_PERPETUAL", …
    deliveryDate: int  # ms; PERPETUAL_DELIVERY_MS for perpetuals
    onboardDate: int  # listing time, ms
    baseAsset: str  # "BTC"
    quoteAsset: str  # "USDT" / "USD"
    marginAsset: str  # "USDT" / the base coin
    pricePrecision: int  # decimals of prices
    quantityPrecision: int  # decimals of quantities
    status: str | None = None  # USDⓈ-M: "TRADING" when active
    contractStatus: str | None = None  # COIN-M's name for it
    contractSize: int | None = None  # COIN-M: USD per contract
    marketTakeBound: str | None = None
    triggerProtect: str | None = None
    filters: list[_FilterIn] = msgspec.field(default_factory=list)


class _ExchangeInfoIn(msgspec.Struct, frozen=True):
    symbols: list[msgspec.Raw]  # decoded one by one, so that one bad entry skips only itself


class _SymbolName(msgspec.Struct, frozen=True):
    symbol: str = "?"


_read_info = msgspec.json.Decoder(_ExchangeInfoIn)
_read_symbol = msgspec.json.Decoder(_SymbolIn)
_read_symbol_name = msgspec.json.Decoder(_SymbolName)

_CONTRACT_TYPES: Final = {
    "PERPETUAL": ContractType.PERPETUAL,
    "CURRENT_QUARTER": ContractType.CURRENT_QUARTER,
    "NEXT_QUARTER": ContractType.NEXT_QUARTER,
    # A perpetual on a commodity or index (§7.3): streamed and quoted like any perpetual;
    # our own exchangeInfo will call it PERPETUAL.
    "TRADIFI_PERPETUAL": ContractType.PERPETUAL,
}

# What exchangeInfo does not carry: the simulator's parameters. A relayed instrument is
# never simulated; its filters are the upstream's (``Published``), not made from a price.
_NEUTRAL_PRICE = 0
_PRICE_CEILING = Decimal(10) ** 12  # a mark above it is not one (and no vast number is expanded)
_NEUTRAL_VOLATILITY = 0.0
_NEUTRAL_ACTIVITY = 0.0
_RATE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,8})?")  # a triggerProtect the venue may read ("0.0500")


class Listing(NamedTuple):
    instruments: list[Instrument]  # the TRADING symbols, in the body's order
    skipped: dict[str, str]  # symbol -> why it is not among them (not TRADING, unreadable)



def _instrument(market: Market, entry: _SymbolIn) -> Instrument:
    """``entry`` as an Instrument; ValueError says why it cannot be one."""
    status = entry.status if entry.status is not None else entry.contractStatus
    if status != "TRADING":
        raise ValueError(f"status {status}")
    contract_type = _CONTRACT_TYPES.get(entry.contractType)
    if contract_type is None:
        raise ValueError(f"contractType {entry.contractType!r} is not one tickerplant lists")
    filters = {f.filterType: f for f in entry.filters}
    price_filter, lot_size = filters.get("PRICE_FILTER"), filters.get("LOT_SIZE")
    if price_filter is None or price_filter.tickSize is None:
        raise ValueError("no PRICE_FILTER tickSize")
    if lot_size is None or lot_size.stepSize is None or lot_size.minQty is None or lot_size.maxQty is None:
        raise ValueError("no LOT_SIZE stepSize, minQty and maxQty")
    contract_size = 1  # USDⓈ-M quantities are in the base asset
    if market is Market.CM:
        if entry.contractSize is None or entry.contractSize <= 0:
            raise ValueError("no contractSize on a COIN-M symbol")
        contract_size = entry.contractSize
    tick_size, step_size = price_filter.tickSize, lot_size.stepSize
    min_qty, max_qty = lot_size.minQty, lot_size.maxQty
    # Prices and quantities are written with pricePrecision / quantityPrecision decimals,
    # and the tick and lot sizes fit in them on Binance (the tick is printed with
    # pricePrecision decimals); should one not, widen the decimals rather than round it.
    price_decimals = max(entry.pricePrecision, decimals_of(tick_size))
    qty_digits = (decimals_of(step_size), decimals_of(min_qty), decimals_of(max_qty))
    qty_decimals = max(entry.quantityPrecision, *qty_digits)
    tick, step = to_units(tick_size, price_decimals), to_units(step_size, qty_decimals)
    low, high = to_units(min_qty, qty_decimals), to_units(max_qty, qty_decimals)
    if tick <= 0 or step <= 0:
        raise ValueError(f"tickSize {tick_size} / stepSize {step_size} must be positive")
    return Instrument(
        symbol=entry.symbol,
        pair=entry.pair,
        market=market,
        contract_type=contract_type,
        base_asset=entry.baseAsset,
        quote_asset=entry.quoteAsset,
        margin_asset=entry.marginAsset,
        price_decimals=price_decimals,
        tick=tick,
        qty_decimals=qty_decimals,
        step=step,
        min_qty=low,
        max_qty=high,
        contract_size=contract_size,
        onboard_ms=entry.onboardDate,
        delivery_ms=entry.deliveryDate,
        initial_price=_NEUTRAL_PRICE,
        daily_volatility=_NEUTRAL_VOLATILITY,
        activity=_NEUTRAL_ACTIVITY,
        published=_published(entry, filters, price_decimals, qty_decimals),
    )


def _published(entry: _SymbolIn, filters: dict[str, _FilterIn], pd: int, qd: int) -> Published:
    """The filters ``entry`` publishes beyond an Instrument's fields, as they came (the relay
    lists them again and its venue enforces them); None for what it does not publish, which
    the catalogue's rule then gives (``exchange_info``)."""
    none = _FilterIn("")  # a filter not published: each of its values not either
    price, market_lot = filters["PRICE_FILTER"], filters.get("MARKET_LOT_SIZE", none)
    orders, notional = filters.get("MAX_NUM_ORDERS", none), filters.get("MIN_NOTIONAL", none)
    percent = filters.get("PERCENT_PRICE", none)
    decimal = percent.multiplierDecimal
    return Published(
        to_units(price.minPrice, pd) if price.minPrice else None,
        to_units(price.maxPrice, pd) if price.maxPrice else None,
        to_units(market_lot.maxQty, qd) if market_lot.maxQty else None,
        orders.limit, notional.notional, percent.multiplierUp, percent.multiplierDown,
        None if decimal is None else str(decimal), entry.marketTakeBound,
        entry.triggerProtect if entry.triggerProtect and _RATE.fullmatch(entry.triggerProtect) else None,
    )  # fmt: skip


def read_exchange_info(market: Market, body: bytes) -> Listing:
    """The instruments an exchangeInfo body of ``market`` lists as TRADING, and why the
    others are left out. Raises ``msgspec.DecodeError`` if ``body`` is no exchangeInfo."""
    instruments: list[Instrument] = []
    skipped: dict[str, str] = {}
    for raw in _read_info.decode(body).symbols:
        try:
            entry = _read_symbol.decode(raw)
        except msgspec.DecodeError as exc:  # ValidationError included
            try:
                name = _read_symbol_name.decode(raw).symbol
            except msgspec.DecodeError:
                name = "?"
            skipped[name] = f"unreadable: {exc}"
            continue
        try:
            instruments.append(_instrument(market, entry))
        except ValueError as exc:
            skipped[entry.symbol] = str(exc)
    return Listing(instruments, skipped)


def instruments_from_exchange_info(market: Market, body: bytes) -> list[Instrument]:
    """The TRADING instruments of an exchangeInfo body (spec §7.3), Binance's or ours."""
    return read_exchange_info(market, body).instruments


class _MarkIn(msgspec.Struct):
    symbol: str
    markPrice: str


_MARKS = msgspec.json.Decoder(list[_MarkIn])


def priced(instruments: list[Instrument], body: bytes) -> list[Instrument]:
    """``instruments`` each priced at its mark in a premiumIndex body (all symbols: §4.6),
    where a listing carries no price (``_NEUTRAL_PRICE``): what sizes a COIN-M pair's
    brackets (``venue/domain/brackets.coin_scale``); one the body lacks, or gives no readable
    price for, stays unpriced. ``msgspec.DecodeError`` for a body that is no premiumIndex."""
    marks = {mark.symbol: mark.markPrice for mark in _MARKS.decode(body)}
    out = []
    for inst in instruments:
        price = _units_down(marks.get(inst.symbol, ""), inst.price_decimals)
        out.append(dataclasses.replace(inst, initial_price=price) if price > 0 else inst)
    return out


def _units_down(text: str, decimals: int) -> int:
    """A mark (8 decimals, finer than the book's) in the instrument's units, rounded down; 0
    for no readable price."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return 0
    if not value.is_finite() or not 0 < value < _PRICE_CEILING:
        return 0
    return int(value.scaleb(decimals))
