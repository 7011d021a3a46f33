"""The instrument catalogue: what is listed on each market, with tick and lot sizes."""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

from tickerplant.market.units import DAY_MS, places_written, to_units

__all__ = [
    "MAX_MOVE_ORDER_LIMIT",
    "PERPETUAL_DELIVERY_MS",
    "ContractType",
    "Instrument",
    "Market",
    "Published",
    "catalogue",
    "listed_price",
    "quarterly_deliveries",
]


class Market(enum.Enum):
    UM = "um"  # USDⓈ-M: linear, quantities in the base asset
    CM = "cm"  # COIN-M: inverse, quantities in contracts of `contract_size` USD

    # a member is only itself: hashed by identity, as Enum's hash of its name is a Python call
    # on every lookup of a key holding one (the plants, the bus, the views: per delivery)
    __hash__ = object.__hash__


class ContractType(enum.Enum):
    PERPETUAL = "PERPETUAL"
    CURRENT_QUARTER = "CURRENT_QUARTER"
    NEXT_QUARTER = "NEXT_QUARTER"


PERPETUAL_DELIVERY_MS = 4_133_404_800_000  # 2100-12-25: Binance's "no delivery" date (spec §7.3)
# the modifications an order takes (exchangeInfo's maxMoveOrderLimit; the next is -5026,
# COIN-M -4198: trading spec part 2 §5)
MAX_MOVE_ORDER_LIMIT = 10_000


class Published(NamedTuple):
    """The filters an upstream's exchangeInfo publishes for a relayed symbol beyond what an
    ``Instrument`` holds (spec §7.3): the relay lists them again as they came, and its venue
    enforces them (``exchange_info.order_filters``). None: not published, the catalogue's
    rule instead (``exchange_info``'s); a catalogue's symbol has none at all."""

    min_price: int | None  # PRICE_FILTER minPrice, price units
    max_price: int | None  # PRICE_FILTER maxPrice (0: no maximum)
    market_max_qty: int | None  # MARKET_LOT_SIZE maxQty, quantity units
    max_num_orders: int | None  # MAX_NUM_ORDERS limit
    min_notional: str | None  # MIN_NOTIONAL notional as published ("100"; USDⓈ-M's filter)
    multiplier_up: str | None  # PERCENT_PRICE
    multiplier_down: str | None
    multiplier_decimal: str | None
    market_take_bound: str | None  # the symbol's marketTakeBound
    trigger_protect: str | None = None  # the symbol's triggerProtect (algo orders' priceProtect)


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str  # listed (uppercase) form, e.g. "BTCUSDT", "BTCUSD_PERP", "BTCUSD_261225"
    pair: str  # "BTCUSDT" / "BTCUSD"
    market: Market
    contract_type: ContractType
    base_asset: str  # "BTC"
    quote_asset: str  # "USDT" (UM) / "USD" (CM)
    margin_asset: str  # "USDT" (UM) / the base coin (CM)
    price_decimals: int  # pricePrecision: digits after the point in every price string
    tick: int  # tick size in price units (10**-price_decimals); BTCUSDT 0.10 -> 10
    qty_decimals: int  # quantityPrecision: digits after the point in every quantity string
    step: int  # lot step in quantity units; BTCUSDT 0.001 -> 1
    min_qty: int  # quantity units
    max_qty: int  # quantity units
    contract_size: int  # USD per contract on COIN-M; 1 on USDⓈ-M
    onboard_ms: int
    delivery_ms: int  # PERPETUAL_DELIVERY_MS for perpetuals
    initial_price: int  # price units; where the simulated market starts
    daily_volatility: float  # stdev of the daily log return of the latent fair price
    activity: float  # relative share of the simulated order flow
    published: Published | None = None  # a relayed symbol's upstream filters (``Published``)


# --- the catalogue ---------------------------------------------------------------------------
#
# Tick and step sizes, pricePrecision and quantityPrecision follow Binance's exchangeInfo
# (spec §7.3): the tick is written with exactly pricePrecision decimals ("0.10" for BTCUSDT,
# "0.0001000" for OPUSDT), which is why `price_decimals` is derived from the tick string.
# Prices are early-2026 levels; volatilities are typical daily log-return stdevs.

_DELIVERY_HOUR_UTC = 8  # quarterlies settle at 08:00 UTC on the last Friday of the quarter
_QUARTER_MONTHS = (3, 6, 9, 12)
_BASIS_PER_YEAR = 0.05  # annualised contango of the quarterlies over the perpetual


class _Spec(NamedTuple):
    base: str
    price: str  # initial price, as Binance would print it
    tick: str  # tickSize, printed with pricePrecision decimals
    step: str  # stepSize, printed with quantityPrecision decimals
    max_qty: str  # LOT_SIZE maxQty
    onboard: str  # "YYYY-MM-DD HH:MM" UTC
    volatility: float  # daily
    activity: float


_UM_PERPETUALS: tuple[_Spec, ...] = (
    _Spec("BTC", "90000.00", "0.10", "0.001", "1000", "2019-09-08 17:55", 0.025, 30.0),
    _Spec("ETH", "3100.00", "0.01", "0.001", "10000", "2019-11-27 07:00", 0.035, 20.0),
    _Spec("BNB", "880.000", "0.010", "0.01", "100000", "2020-02-10 08:00", 0.030, 4.0),
    _Spec("SOL", "135.0000", "0.0100", "0.01", "1000000", "2020-09-14 08:00", 0.045, 8.0),
    _Spec("XRP", "2.0500", "0.0001", "0.1", "10000000", "2020-01-06 08:00", 0.045, 6.0),
    _Spec("DOGE", "0.140000", "0.000010", "1", "50000000", "2020-07-10 08:00", 0.055, 6.0),
    _Spec("ADA", "0.40000", "0.00010", "1", "10000000", "2020-01-31 08:00", 0.050, 3.0),
    _Spec("AVAX", "13.5000", "0.0010", "1", "1000000", "2020-09-22 08:00", 0.055, 2.0),
    _Spec("LINK", "13.500", "0.001", "0.01", "500000", "2020-01-17 08:00", 0.050, 2.5),
    _Spec("DOT", "2.150", "0.001", "0.1", "1000000", "2020-08-21 08:00", 0.050, 1.5),
    _Spec("LTC", "82.00", "0.01", "0.001", "100000", "2020-01-09 08:00", 0.040, 1.5),
    _Spec("BCH", "590.00", "0.01", "0.001", "10000", "2019-12-18 08:00", 0.040, 1.5),
    _Spec("TRX", "0.29000", "0.00001", "1", "10000000", "2020-01-15 08:00", 0.025, 1.0),
    _Spec("NEAR", "1.7500", "0.0010", "1", "1000000", "2020-10-15 08:00", 0.060, 1.2),
    _Spec("ATOM", "2.450", "0.001", "0.01", "1000000", "2020-02-07 08:00", 0.050, 0.8),
    _Spec("ETC", "12.800", "0.001", "0.01", "1000000", "2020-01-16 08:00", 0.045, 0.8),
    _Spec("FIL", "1.450", "0.001", "0.1", "1000000", "2020-10-16 08:00", 0.060, 0.8),
    _Spec("APT", "1.75000", "0.00010", "0.1", "1000000", "2022-10-19 08:00", 0.060, 0.9),
    _Spec("ARB", "0.210000", "0.000100", "0.1", "5000000", "2023-03-23 08:00", 0.065, 1.0),
    _Spec("OP", "0.3100000", "0.0001000", "0.1", "5000000", "2022-06-01 08:00", 0.065, 0.8),
    _Spec("SUI", "1.650000", "0.000100", "0.1", "5000000", "2023-05-03 08:00", 0.065, 2.0),
    _Spec("1000PEPE", "0.0052000", "0.0000001", "1", "100000000", "2023-05-05 08:00", 0.075, 3.0),
    _Spec("1000SHIB", "0.007900", "0.000001", "1", "100000000", "2021-05-10 08:00", 0.060, 1.0),
    _Spec("UNI", "5.8000", "0.0010", "1", "1000000", "2020-09-17 08:00", 0.055, 0.8),
    _Spec("AAVE", "165.000", "0.010", "0.1", "100000", "2020-10-15 08:00", 0.055, 1.0),
    _Spec("WIF", "0.3800000", "0.0001000", "0.1", "5000000", "2024-01-11 08:00", 0.080, 1.2),
)

# COIN-M quantities are whole contracts of `contract_size` USD (spec §1.2).
_CM_PERPETUALS: tuple[_Spec, ...] = (
    _Spec("BTC", "90000.0", "0.1", "1", "1000000", "2020-08-10 07:00", 0.025, 10.0),
    _Spec("ETH", "3100.00", "0.01", "1", "1000000", "2020-08-14 07:00", 0.035, 6.0),
    _Spec("BNB", "880.000", "0.010", "1", "1000000", "2020-10-09 07:00", 0.030, 1.5),
    _Spec("SOL", "135.000", "0.010", "1", "1000000", "2021-04-23 08:00", 0.045, 2.0),
    _Spec("XRP", "2.0500", "0.0001", "1", "1000000", "2020-10-09 07:00", 0.045, 1.5),
    _Spec("ADA", "0.40000", "0.00010", "1", "1000000", "2020-10-09 07:00", 0.050, 1.0),
    _Spec("DOGE", "0.140000", "0.000010", "1", "1000000", "2021-05-14 08:00", 0.055, 1.2),
    _Spec("LINK", "13.500", "0.001", "1", "1000000", "2020-08-14 07:00", 0.050, 0.8),
    _Spec("DOT", "2.150", "0.001", "1", "1000000", "2020-10-09 07:00", 0.050, 0.6),
    _Spec("LTC", "82.00", "0.01", "1", "1000000", "2020-10-09 07:00", 0.040, 0.6),
)
_CM_QUARTERLY_BASES = ("BTC", "ETH")
_CM_QUARTERLY_ACTIVITY = (0.25, 0.1)  # share of the perpetual's flow: current, next quarter


def _utc_ms(text: str) -> int:
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1000




def _last_friday_delivery_ms(year: int, month: int) -> int:
    last_day = calendar.monthrange(year, month)[1]
    day = datetime(year, month, last_day, _DELIVERY_HOUR_UTC, tzinfo=UTC)
    # weekday(): Monday 0 … Friday 4
    day -= timedelta(days=(day.weekday() - 4) % 7)
    return int(day.timestamp()) * 1000


def quarterly_deliveries(now_ms: int, count: int = 2) -> list[int]:
    """The next ``count`` quarterly delivery times strictly after ``now_ms``, ascending.

    Binance's quarterlies deliver on the last Friday of March, June, September and
    December at 08:00 UTC.
    """
    year = datetime.fromtimestamp(now_ms / 1000, tz=UTC).year
    found: list[int] = []
    while len(found) < count:
        for month in _QUARTER_MONTHS:
            delivery = _last_friday_delivery_ms(year, month)
            if delivery > now_ms and len(found) < count:
                found.append(delivery)
        year += 1
    return found


def _previous_delivery_ms(delivery_ms: int, quarters_back: int) -> int:
    moment = datetime.fromtimestamp(delivery_ms / 1000, tz=UTC)
    index = moment.year * 4 + _QUARTER_MONTHS.index(moment.month) - quarters_back
    year, quarter = divmod(index, 4)
    return _last_friday_delivery_ms(year, _QUARTER_MONTHS[quarter])


def _instrument(
    spec: _Spec,
    market: Market,
    *,
    symbol: str,
    contract_type: ContractType = ContractType.PERPETUAL,
    onboard_ms: int | None = None,
    delivery_ms: int = PERPETUAL_DELIVERY_MS,
    price_factor: float = 1.0,
    activity: float | None = None,
) -> Instrument:
    price_decimals = places_written(spec.tick)
    qty_decimals = places_written(spec.step)
    tick = to_units(spec.tick, price_decimals)
    step = to_units(spec.step, qty_decimals)
    price = to_units(spec.price, price_decimals)
    if price_factor != 1.0:
        price = max(tick, round(price * price_factor / tick) * tick)
    linear = market is Market.UM
    quote = "USDT" if linear else "USD"
    return Instrument(
        symbol=symbol,
        pair=spec.base + quote,
        market=market,
        contract_type=contract_type,
        base_asset=spec.base,
        quote_asset=quote,
        margin_asset=quote if linear else spec.base,
        price_decimals=price_decimals,
        tick=tick,
        qty_decimals=qty_decimals,
        step=step,
        min_qty=step,
        max_qty=to_units(spec.max_qty, qty_decimals),
        contract_size=1 if linear else (100 if spec.base == "BTC" else 10),
        onboard_ms=_utc_ms(spec.onboard) if onboard_ms is None else onboard_ms,
        delivery_ms=delivery_ms,
        initial_price=price,
        daily_volatility=spec.volatility,
        activity=spec.activity if activity is None else activity,
    )


def listed_price(market: Market, base: str) -> Fraction | None:
    """The catalogue's price of ``base``'s perpetual on ``market`` as listed (where the
    simulated market's past was cut from, not where it stands now), exact; None when the
    catalogue does not list it."""
    specs = _UM_PERPETUALS if market is Market.UM else _CM_PERPETUALS
    return next((Fraction(spec.price) for spec in specs if spec.base == base), None)


def catalogue(market: Market, now_ms: int) -> list[Instrument]:
    """Every instrument listed on ``market`` at ``now_ms``: perpetuals first, then quarterlies.

    Only the quarterlies depend on ``now_ms``: which quarters are current and next, and
    how much contango their starting price carries over the perpetual's.
    """
    if market is Market.UM:
        return [_instrument(spec, market, symbol=spec.base + "USDT") for spec in _UM_PERPETUALS]
    instruments = [
        _instrument(spec, market, symbol=spec.base + "USD_PERP") for spec in _CM_PERPETUALS
    ]
    current, following = quarterly_deliveries(now_ms, 2)
    by_base = {spec.base: spec for spec in _CM_PERPETUALS}
    for base in _CM_QUARTERLY_BASES:
        spec = by_base[base]
        for delivery, contract_type, share in (
            (current, ContractType.CURRENT_QUARTER, _CM_QUARTERLY_ACTIVITY[0]),
            (following, ContractType.NEXT_QUARTER, _CM_QUARTERLY_ACTIVITY[1]),
        ):
            years_left = (delivery - now_ms) / (365 * DAY_MS)
            yymmdd = datetime.fromtimestamp(delivery / 1000, tz=UTC).strftime("%y%m%d")
            instruments.append(
                _instrument(
                    spec,
                    market,
                    symbol=f"{base}USD_{yymmdd}",
                    contract_type=contract_type,
                    # listed two quarters before delivery, as Binance rolls them
                    onboard_ms=_previous_delivery_ms(delivery, 2),
                    delivery_ms=delivery,
                    price_factor=1.0 + _BASIS_PER_YEAR * years_left,
                    activity=spec.activity * share,
                )
            )
    return instruments
