"""The body of `GET /fapi/v1/exchangeInfo` and `GET /dapi/v1/exchangeInfo` (spec §7.3).

Every struct below is one object of the real body, its fields the wire keys in the order
the live service sends them ([CAP 2026-10] for USDⓈ-M, [CAP 2025-06] for COIN-M). Inside
`filters` the live order looks like hash order; we copy the spec's examples filter by
filter, so the two markets differ there too.

The body is large (the real one is 1.15 MB) and only `serverTime` changes between
requests, so everything after `serverTime` is encoded once per (market, instruments) and
each request splices the time in: a request costs one small concatenation.

The other direction, reading an upstream's body back into instruments, is ``listing.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple, TypeVar

import msgspec

from tickerplant.market.instruments import MAX_MOVE_ORDER_LIMIT, Instrument, Market, listed_price
from tickerplant.market.payloads.asset_index import MARGIN_ASSETS
from tickerplant.market.units import fixed

__all__ = [
    "AUTO_ASSET_EXCHANGE",
    "AssetUM",
    "ExchangeInfoCM",
    "ExchangeInfoUM",
    "LotSizeCM",
    "LotSizeUM",
    "MarketLotSizeUM",
    "MaxNumOrdersCM",
    "MaxNumOrdersUM",
    "MinNotionalUM",
    "OrderFilters",
    "PercentPrice",
    "PriceFilterCM",
    "PriceFilterUM",
    "RateLimit",
    "SymbolCM",
    "SymbolUM",
    "exchange_info",
    "exchange_info_spot_stub",
    "order_filters",
]


# --- the wire structs --------------------------------------------------------------------------


class RateLimit(msgspec.Struct, frozen=True):
    """One entry of `rateLimits`."""

    rateLimitType: str  # "REQUEST_WEIGHT" or "ORDERS"
    interval: str  # "MINUTE" or "SECOND"
    intervalNum: int  # the window is intervalNum intervals long
    limit: int  # the budget per window


class AssetUM(msgspec.Struct, frozen=True):
    """One entry of USDⓈ-M `assets` (Multi-Assets mode)."""

    asset: str  # margin asset, e.g. "USDT"
    marginAvailable: bool  # usable as margin in Multi-Assets mode
    autoAssetExchange: str | None  # auto-exchange threshold; null for non-margin assets


class PriceFilterUM(msgspec.Struct, frozen=True):
    """PRICE_FILTER, USDⓈ-M key order: minPrice <= price <= maxPrice, on the tick."""

    maxPrice: str  # highest accepted price
    tickSize: str  # price increment, written with pricePrecision decimals ("0.10")
    filterType: str  # "PRICE_FILTER"
    minPrice: str  # lowest accepted price


class PriceFilterCM(msgspec.Struct, frozen=True):
    """PRICE_FILTER, COIN-M key order."""

    minPrice: str  # lowest accepted price
    maxPrice: str  # highest accepted price
    filterType: str  # "PRICE_FILTER"
    tickSize: str  # price increment ("0.1")


class LotSizeUM(msgspec.Struct, frozen=True):
    """LOT_SIZE, USDⓈ-M key order: minQty <= qty <= maxQty, on the step."""

    stepSize: str  # quantity increment, written with quantityPrecision decimals ("0.001")
    minQty: str  # smallest order quantity
    maxQty: str  # largest limit-order quantity
    filterType: str  # "LOT_SIZE"


class MarketLotSizeUM(msgspec.Struct, frozen=True):
    """MARKET_LOT_SIZE, USDⓈ-M key order: LOT_SIZE for market orders."""

    minQty: str  # smallest market-order quantity
    maxQty: str  # largest market-order quantity
    filterType: str  # "MARKET_LOT_SIZE"
    stepSize: str  # quantity increment


class LotSizeCM(msgspec.Struct, frozen=True):
    """LOT_SIZE and MARKET_LOT_SIZE, COIN-M key order (the two share it); quantities in contracts."""

    stepSize: str  # quantity increment, contracts
    filterType: str  # "LOT_SIZE" or "MARKET_LOT_SIZE"
    maxQty: str  # largest order quantity, contracts
    minQty: str  # smallest order quantity, contracts


class MaxNumOrdersUM(msgspec.Struct, frozen=True):
    """MAX_NUM_ORDERS, USDⓈ-M key order."""

    filterType: str  # "MAX_NUM_ORDERS"
    limit: int  # most open orders per symbol


class MaxNumOrdersCM(msgspec.Struct, frozen=True):
    """MAX_NUM_ORDERS, COIN-M key order."""

    limit: int  # most open orders per symbol
    filterType: str  # "MAX_NUM_ORDERS"


class MinNotionalUM(msgspec.Struct, frozen=True):
    """MIN_NOTIONAL (USDⓈ-M only): price * qty >= notional."""

    notional: str  # smallest order value, quote asset
    filterType: str  # "MIN_NOTIONAL"


class PercentPrice(msgspec.Struct, frozen=True):
    """PERCENT_PRICE, both markets: a price's band around the mark price."""

    multiplierDown: str  # SELL price >= mark * multiplierDown
    multiplierUp: str  # BUY price <= mark * multiplierUp
    multiplierDecimal: str  # decimals of the multipliers; a string live, an int in old docs
    filterType: str  # "PERCENT_PRICE"


class SymbolUM(msgspec.Struct, frozen=True):
    """One entry of USDⓈ-M `symbols`, keys as the live service orders them."""

    symbol: str  # listed symbol, "BTCUSDT"
    pair: str  # underlying pair, "BTCUSDT"
    contractType: str  # "PERPETUAL", "CURRENT_QUARTER", …; ccxt treats a symbol without it as spot
    deliveryDate: int  # ms; 4133404800000 for perpetuals
    onboardDate: int  # listing time, ms
    status: str  # "TRADING" when active
    maintMarginPercent: str  # maintenance margin, percent
    requiredMarginPercent: str  # initial margin, percent
    baseAsset: str  # "BTC"
    quoteAsset: str  # "USDT"
    marginAsset: str  # settlement asset, "USDT"
    pricePrecision: int  # decimals of prices (not the tick)
    quantityPrecision: int  # decimals of quantities (not the step)
    baseAssetPrecision: int  # decimals of base-asset amounts
    quotePrecision: int  # decimals of quote-asset amounts
    underlyingType: str  # "COIN", "EQUITY", …
    underlyingSubType: list[str]  # tags such as "PoW"
    triggerProtect: str  # price-protect threshold for algo orders
    liquidationFee: str  # liquidation fee rate
    marketTakeBound: str  # largest deviation from mark a market order may take
    maxMoveOrderLimit: int  # most price-moving orders
    filters: list[msgspec.Struct]  # PRICE_FILTER … PERCENT_PRICE, USDⓈ-M structs above
    orderTypes: list[str]  # accepted order types
    timeInForce: list[str]  # accepted time-in-force values
    permissionSets: list[str]  # trading products allowed on the symbol


class SymbolCM(msgspec.Struct, frozen=True):
    """One entry of COIN-M `symbols`, keys as the live service orders them."""

    symbol: str  # "BTCUSD_PERP", "BTCUSD_261225"
    pair: str  # "BTCUSD"
    contractType: str  # "PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER", …
    deliveryDate: int  # ms; 4133404800000 for perpetuals
    onboardDate: int  # listing time, ms
    contractStatus: str  # "TRADING" when active (COIN-M's name for `status`)
    contractSize: int  # USD per contract: 100 for BTC, 10 otherwise
    marginAsset: str  # the base coin: inverse contracts settle in it
    maintMarginPercent: str  # maintenance margin, percent
    requiredMarginPercent: str  # initial margin, percent
    baseAsset: str  # "BTC"
    quoteAsset: str  # "USD"
    pricePrecision: int  # decimals of prices (not the tick)
    quantityPrecision: int  # decimals of quantities (contracts)
    baseAssetPrecision: int  # decimals of base-asset amounts
    quotePrecision: int  # decimals of quote amounts
    equalQtyPrecision: int  # decimals of the base-asset equivalent of a quantity
    maxMoveOrderLimit: int  # most price-moving orders
    triggerProtect: str  # price-protect threshold for algo orders
    underlyingType: str  # "COIN"
    underlyingSubType: list[str]  # tags such as "PoW"
    filters: list[msgspec.Struct]  # PRICE_FILTER … PERCENT_PRICE, COIN-M structs above
    orderTypes: list[str]  # accepted order types
    timeInForce: list[str]  # accepted time-in-force values
    liquidationFee: str  # liquidation fee rate
    marketTakeBound: str  # largest deviation from mark a market order may take


class ExchangeInfoUM(msgspec.Struct, frozen=True):
    """USDⓈ-M top level; real order timezone, serverTime, futuresType, … [CAP 2026-10]."""

    timezone: str  # "UTC"
    serverTime: int  # ms; the docs tell clients to use /time instead
    futuresType: str  # "U_MARGINED", live only [OBS]
    rateLimits: list[RateLimit]  # the per-IP budgets
    exchangeFilters: list[str]  # always empty
    assets: list[AssetUM]  # margin assets
    symbols: list[SymbolUM]  # every listed symbol


class ExchangeInfoCM(msgspec.Struct, frozen=True):
    """COIN-M top level: no futuresType, no assets [CAP 2025-06]."""

    timezone: str  # "UTC"
    serverTime: int  # ms
    rateLimits: list[RateLimit]  # the per-IP budgets
    exchangeFilters: list[str]  # always empty
    symbols: list[SymbolCM]  # every listed symbol


# --- fixed values, as the live service sends them (§7.3) ---------------------------------------

# Binance's order limits (venue/risk/order_counts.py); the weight's is the server's own
# (``--request-weight``, §7.1: a throttle sized from what it reads here is not banned)
_ORDER_LIMITS_CM: Final = [RateLimit("ORDERS", "MINUTE", 1, 1200)]
_ORDER_LIMITS_UM: Final = [*_ORDER_LIMITS_CM, RateLimit("ORDERS", "SECOND", 10, 300)]
_ORDER_TYPES: Final = [
    "LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET",
]  # fmt: skip
_TIME_IN_FORCE_UM: Final = ["GTC", "IOC", "FOK", "GTX", "GTD"]
_TIME_IN_FORCE_CM: Final = ["GTC", "IOC", "FOK", "GTX"]
_PERMISSION_SETS: Final = ["GRID", "COPY", "DCA", "PSB"]
_SUB_TYPES: Final = {
    "BTC": ["PoW"], "LTC": ["PoW"], "BCH": ["PoW"], "ETC": ["PoW"], "DOGE": ["Meme"],
    "1000PEPE": ["Meme"], "1000SHIB": ["Meme"], "WIF": ["Meme"], "ARB": ["Layer-2"], "OP": ["Layer-2"],
}  # fmt: skip
_MIN_NOTIONAL: Final = {"BTC": "50"}  # BTCUSDT's from the capture; "5" is Binance's usual floor
_MAX_PRICE_FACTOR = 50  # BTCUSDT's maxPrice 4529764 is ~50 times its price
_MARKET_LOT_DIVISOR = 10  # market orders are capped well below limit orders (BTCUSDT 120 vs 1000)
_MAX_NUM_ORDERS = 200
_PERCENT_PRICE: Final = PercentPrice("0.9500", "1.0500", "4", "PERCENT_PRICE")
_QUOTE_PRECISION = 8
_MARKET_TAKE_BOUND = "0.05"  # a market order takes no level further than 5 % from mark
# priceProtect's bound: the mark and the contract price at most 5 % apart when an algo order
# triggers (trading part 2 §4.2's table; the captures' "0.0500")
_TRIGGER_PROTECT = "0.0500"
_EQUAL_QTY_PRECISION = 4
_T = TypeVar("_T")
_TIME_HEAD = b'{"timezone":"UTC","serverTime":'


def _trimmed(units: int, decimals: int) -> str:
    """An exact decimal without trailing zeros after the point, as Binance writes limits
    ("4529764", "1000"; tick and step sizes keep their zeros instead)."""
    text = fixed(units, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _market_max_qty(inst: Instrument) -> int:
    cap = inst.max_qty // _MARKET_LOT_DIVISOR
    return max(inst.min_qty, cap - cap % inst.step)


class OrderFilters(NamedTuple):
    """A symbol's filters as the order path enforces them (trading part 2 §8), in integer
    units: the same values ``exchangeInfo`` publishes, from this one home."""

    min_price: int  # PRICE_FILTER minPrice (the tick), price units
    max_price: int  # PRICE_FILTER maxPrice
    tick: int
    min_qty: int  # LOT_SIZE and MARKET_LOT_SIZE minQty, quantity units
    max_qty: int  # LOT_SIZE maxQty
    market_max_qty: int  # MARKET_LOT_SIZE maxQty
    step: int
    max_num_orders: int  # MAX_NUM_ORDERS limit
    min_notional: str  # MIN_NOTIONAL notional as published ("5"); USDⓈ-M only
    multiplier_up: str  # PERCENT_PRICE multiplierUp
    multiplier_down: str  # PERCENT_PRICE multiplierDown
    market_take_bound: str  # marketTakeBound
    trigger_protect: str  # triggerProtect


class _Filters(NamedTuple):
    """What ``inst``'s filters say beyond its own fields, every value known (``_published``)."""

    min_price: int
    max_price: int
    market_max_qty: int
    max_num_orders: int
    min_notional: str
    multiplier_up: str
    multiplier_down: str
    multiplier_decimal: str
    market_take_bound: str
    trigger_protect: str


def _reference_price(inst: Instrument) -> int:
    """The price ``maxPrice`` is a multiple of, in the instrument's units: the catalogue's
    listed price of its base (static: the simulator starts each instrument at the price its
    past reached, which moved a restarted plant's maxPrice away from its gateways'), else its
    own (a replayed symbol made from its name: its files' first)."""
    listed = listed_price(inst.market, inst.base_asset)
    if listed is None:
        return inst.initial_price
    return int(listed * 10**inst.price_decimals) // inst.tick * inst.tick or inst.tick


def _published(inst: Instrument) -> _Filters:
    """What ``inst``'s filters say beyond its own fields: what its upstream published (a
    relayed symbol, ``Published``), each value it did not the catalogue's rule (the constants
    above: this is their one home)."""
    percent = _PERCENT_PRICE
    rules = _Filters(
        inst.tick, _reference_price(inst) * _MAX_PRICE_FACTOR, _market_max_qty(inst), _MAX_NUM_ORDERS,
        _MIN_NOTIONAL.get(inst.base_asset, "5"), percent.multiplierUp, percent.multiplierDown,
        percent.multiplierDecimal, _MARKET_TAKE_BOUND, _TRIGGER_PROTECT,
    )  # fmt: skip
    sent = inst.published
    if sent is None:
        return rules

    def given(value: _T | None, rule: _T) -> _T:
        return rule if value is None else value

    return _Filters(
        given(sent.min_price, rules.min_price), given(sent.max_price, rules.max_price),
        given(sent.market_max_qty, rules.market_max_qty), given(sent.max_num_orders, rules.max_num_orders),
        given(sent.min_notional, rules.min_notional), given(sent.multiplier_up, rules.multiplier_up),
        given(sent.multiplier_down, rules.multiplier_down),
        given(sent.multiplier_decimal, rules.multiplier_decimal),
        given(sent.market_take_bound, rules.market_take_bound),
        given(sent.trigger_protect, rules.trigger_protect),
    )  # fmt: skip


def _percent(p: _Filters) -> PercentPrice:
    return PercentPrice(p.multiplier_down, p.multiplier_up, p.multiplier_decimal, "PERCENT_PRICE")


def order_filters(inst: Instrument) -> OrderFilters:
    p = _published(inst)
    return OrderFilters(
        p.min_price, p.max_price, inst.tick, inst.min_qty, inst.max_qty, p.market_max_qty, inst.step,
        p.max_num_orders, p.min_notional, p.multiplier_up, p.multiplier_down, p.market_take_bound,
        p.trigger_protect,
    )  # fmt: skip


def _symbol_um(inst: Instrument) -> SymbolUM:
    pd, qd, p = inst.price_decimals, inst.qty_decimals, _published(inst)
    tick, step = fixed(inst.tick, pd), fixed(inst.step, qd)
    min_qty, min_price = _trimmed(inst.min_qty, qd), fixed(p.min_price, pd)  # "556.80", as captured
    filters: list[msgspec.Struct] = [
        PriceFilterUM(_trimmed(p.max_price, pd), tick, "PRICE_FILTER", min_price),
        LotSizeUM(step, min_qty, _trimmed(inst.max_qty, qd), "LOT_SIZE"),
        MarketLotSizeUM(min_qty, _trimmed(p.market_max_qty, qd), "MARKET_LOT_SIZE", step),
        MaxNumOrdersUM("MAX_NUM_ORDERS", p.max_num_orders),
        MinNotionalUM(p.min_notional, "MIN_NOTIONAL"),
        _percent(p),
    ]
    return SymbolUM(
        inst.symbol, inst.pair, inst.contract_type.value, inst.delivery_ms, inst.onboard_ms,
        "TRADING", "2.5000", "5.0000", inst.base_asset, inst.quote_asset, inst.margin_asset,
        pd, qd, _QUOTE_PRECISION, _QUOTE_PRECISION, "COIN", _SUB_TYPES.get(inst.base_asset, []),
        p.trigger_protect, "0.012500", p.market_take_bound, MAX_MOVE_ORDER_LIMIT, filters, _ORDER_TYPES,
        _TIME_IN_FORCE_UM, _PERMISSION_SETS,
    )  # fmt: skip


def _symbol_cm(inst: Instrument) -> SymbolCM:
    pd, qd, p = inst.price_decimals, inst.qty_decimals, _published(inst)
    tick, step = fixed(inst.tick, pd), fixed(inst.step, qd)
    # minPrice: the tick as written, else as COIN-M captures it, trimmed ("1000")
    min_qty = _trimmed(inst.min_qty, qd)
    min_price = tick if p.min_price == inst.tick else _trimmed(p.min_price, pd)
    filters: list[msgspec.Struct] = [
        PriceFilterCM(min_price, _trimmed(p.max_price, pd), "PRICE_FILTER", tick),
        LotSizeCM(step, "LOT_SIZE", _trimmed(inst.max_qty, qd), min_qty),
        LotSizeCM(step, "MARKET_LOT_SIZE", _trimmed(p.market_max_qty, qd), min_qty),
        MaxNumOrdersCM(p.max_num_orders, "MAX_NUM_ORDERS"),
        _percent(p),
    ]
    return SymbolCM(
        inst.symbol, inst.pair, inst.contract_type.value, inst.delivery_ms, inst.onboard_ms,
        "TRADING", inst.contract_size, inst.margin_asset, "2.5000", "5.0000", inst.base_asset,
        inst.quote_asset, pd, qd, _QUOTE_PRECISION, _QUOTE_PRECISION, _EQUAL_QTY_PRECISION,
        MAX_MOVE_ORDER_LIMIT, p.trigger_protect, "COIN", _SUB_TYPES.get(inst.base_asset, []), filters,
        _ORDER_TYPES, _TIME_IN_FORCE_CM, "0.015000", p.market_take_bound,
    )  # fmt: skip


# every margin asset's autoAssetExchange: the live USDT value (spec §7, exchangeInfo); the
# venue exchanges a Multi-Assets wallet below it (venue/clearing/auto_exchange.py)
AUTO_ASSET_EXCHANGE = "-10000"


def _body(market: Market, instruments: Sequence[Instrument], server_time_ms: int, weight_limit: int) -> bytes:
    orders = _ORDER_LIMITS_UM if market is Market.UM else _ORDER_LIMITS_CM
    limits = [RateLimit("REQUEST_WEIGHT", "MINUTE", 1, weight_limit), *orders]
    if market is Market.UM:
        # every margin asset of the wallet (part 3 §11), then any other a catalogue margins in
        extra = sorted({inst.margin_asset for inst in instruments} - set(MARGIN_ASSETS))
        margin_assets = [*MARGIN_ASSETS, *extra]
        assets = [AssetUM(asset, True, AUTO_ASSET_EXCHANGE) for asset in margin_assets]
        symbols_um = [_symbol_um(inst) for inst in instruments]
        info: msgspec.Struct = ExchangeInfoUM(
            "UTC", server_time_ms, "U_MARGINED", limits, [], assets, symbols_um
        )
    else:
        symbols_cm = [_symbol_cm(inst) for inst in instruments]
        info = ExchangeInfoCM("UTC", server_time_ms, limits, [], symbols_cm)
    return msgspec.json.encode(info)


# (market, the instruments' ids, weight limit) -> (the instruments, the body after serverTime):
# the instruments held, their ids are not reused while cached; frozen, the same is the same body.
_tails: dict[tuple[Market, tuple[int, ...], int], tuple[tuple[Instrument, ...], bytes]] = {}
_TAILS_KEPT = 8


def exchange_info(
    market: Market, instruments: Sequence[Instrument], server_time_ms: int, weight_limit: int
) -> bytes:
    """exchangeInfo's body: ``market`` listing ``instruments``, in order, REQUEST_WEIGHT ``weight_limit``."""
    key = (market, tuple(map(id, instruments)), weight_limit)
    cached = _tails.get(key)
    if cached is None:
        body = _body(market, instruments, 0, weight_limit)
        head = _TIME_HEAD + b"0"
        if not body.startswith(head):  # pragma: no cover - the struct fixes the order
            raise AssertionError("exchangeInfo must start with timezone, serverTime")
        if len(_tails) >= _TAILS_KEPT:
            del _tails[next(iter(_tails))]
        cached = _tails[key] = (tuple(instruments), body[len(head) :])
    return b"%b%d%b" % (_TIME_HEAD, server_time_ms, cached[1])


def exchange_info_spot_stub(server_time_ms: int) -> bytes:
    """An empty spot `/api/v3/exchangeInfo`, so a plain `ccxt.binance()` loads (spec §10.6 item 7)."""
    return b'{"timezone":"UTC","serverTime":%d,"rateLimits":[],"exchangeFilters":[],"symbols":[]}' % (
        server_time_ms
    )
