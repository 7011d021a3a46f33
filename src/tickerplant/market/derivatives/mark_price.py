"""Mark price, premium index and funding rate: Binance's formulas as pure functions.

Every value is an integer in units of ``10**-MARK_DECIMALS`` (1e-8), the digits Binance
writes mark prices, index prices and rates with (spec §4.6, §7.9): a rate of 0.01 % is
10,000. Divisions round half up, so the same inputs give the same digits everywhere.

The formulas (Binance's "Mark Price and Price Index" and "Introduction to Binance Futures
Funding Rates"):

- **impact bid / ask price**: the average fill price of selling into the bids (buying from
  the asks) an *impact margin notional*, walking the book from the touch. USDⓈ-M counts the
  notional in the quote asset (price × quantity); COIN-M in USD (contracts × contract
  size); the average is notional / base asset bought, the last level taken in part.
- **premium index** ``P = [max(0, impact bid − index) − max(0, index − impact ask)] / index``.
- **average premium** over the funding interval, time-weighted as Binance weights it: the
  k-th sample counts k times, ``(1·P1 + 2·P2 + … + n·Pn) / (1 + 2 + … + n)``.
- **funding rate** ``F = avg P + clamp(interest rate − avg P, −0.05 %, +0.05 %)``, capped
  at ``±cap``; the interest rate is 0.01 % per 8 h on both markets; funding every 8 hours at
  00:00, 08:00 and 16:00 UTC.
- **mark price** ``median(price 1, price 2, last price)`` with
  ``price 1 = index × (1 + funding rate × time to next funding / 8 h)`` and
  ``price 2 = index + the 30-minute moving average of the basis (mid − index)``, sampled
  once a second (a ring of 1,800 samples).

Where tickerplant departs from Binance:

- premium samples are taken every second (Binance: every 5 seconds);
- the funding rate that ``price 1`` uses is the current estimate of the next funding (the
  rate the stream's ``r`` shows), not the last settled one;
- without a last price (a symbol that never traded), the last price is left out:
  ``median(price 1, price 2, price 2)``, which is price 2;
- a delivery contract has no funding: its price 1 is ``index × (1 + basis rate)`` with the
  basis rate the moving-average basis over the index, which is price 2 here, so its mark is
  price 2 (Binance's basis rate is a moving average of its own);
- the estimated settle price is the mean of the index over the current half hour (since
  its last whole half hour), where Binance settles a delivery at the average index of the
  last 30 minutes before it;
- an impact notional deeper than the book is averaged over the whole book.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

from tickerplant.market.units import HOUR_MS, MINUTE_MS
from tickerplant.market.updates import MARK_DECIMALS

__all__ = [
    "BASIS_WINDOW_S",
    "CLAMP",
    "DEFAULT_CAP",
    "FUNDING_INTERVAL_MS",
    "INTEREST_RATE",
    "ONE",
    "BasisAverage",
    "PremiumAverage",
    "SettleAverage",
    "funding_rate",
    "impact_price",
    "mark_price",
    "next_funding_ms",
    "premium_index",
    "price_to_mark",
    "round_div",
]

ONE = 10**MARK_DECIMALS  # 1.0 in mark units
FUNDING_INTERVAL_MS = 8 * HOUR_MS  # 00:00, 08:00, 16:00 UTC
INTEREST_RATE = 10_000  # 0.01 % per funding interval
CLAMP = 50_000  # ±0.05 %: the clamp of (interest rate − premium)
DEFAULT_CAP = 300_000  # ±0.3 %: the cap and floor of the funding rate
BASIS_WINDOW_S = 1_800  # price 2's moving average: 30 minutes of one-second samples
_SETTLE_PERIOD_MS = 30 * MINUTE_MS


def round_div(a: int, b: int) -> int:
    """``a / b`` rounded half up, for ``b > 0``."""
    return (2 * a + b) // (2 * b)


def price_to_mark(price_units: int, price_decimals: int) -> int:
    """An instrument's price units as mark units (exact: no price has more than 8 digits)."""
    scale: int = 10 ** (MARK_DECIMALS - price_decimals)
    return price_units * scale


def next_funding_ms(now_ms: int) -> int:
    """The first funding time strictly after ``now_ms`` (the epoch is a funding time)."""
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


def impact_price(
    levels: Iterable[tuple[int, int]],
    notional: int,
    *,
    price_decimals: int,
    qty_decimals: int,
    contract_size: int,
    inverse: bool,
) -> int | None:
    """The average fill price, in mark units, of ``notional`` (whole quote-asset units:
    USDT on USDⓈ-M, USD on COIN-M) taken from ``levels``, (price units, quantity units)
    from the touch outwards; None for an empty side.

    Exact, in integers (it runs for every symbol's both sides each second: ``Fraction``
    made it ~90 µs a symbol). Values are kept in units of ``1 / (10^pd × 10^qd)`` of the
    quote asset; what is bought (``base``) as a fraction ``base_num / base_den``."""
    scale = 10**price_decimals * 10**qty_decimals
    remaining = notional * scale  # notional still to take, in value units
    base_num, base_den = 0, 1  # base bought: Σ value / price, in 1 / 10^qd of the base (a ratio)
    for price_units, qty_units in levels:
        # value units of this level: linear price × qty; inverse qty × contractSize (USD)
        value = qty_units * contract_size * 10**price_decimals if inverse else price_units * qty_units
        take = min(value, remaining)
        # take / price: in value units over price units, base_num/base_den += take / price_units
        base_num, base_den = base_num * price_units + take * base_den, base_den * price_units
        remaining -= take
        if not remaining:
            break
    if not base_num:
        return None
    filled = notional * scale - remaining  # value units
    # average = filled value / base bought; value units / (value / price units) = price units
    return round_div(filled * base_den * ONE, base_num * 10**price_decimals)


def premium_index(impact_bid: int, impact_ask: int, index: int) -> int:
    """``[max(0, impact bid − index) − max(0, index − impact ask)] / index`` in mark units."""
    return round_div((max(0, impact_bid - index) - max(0, index - impact_ask)) * ONE, index)


def funding_rate(average_premium: int, interest: int = INTEREST_RATE, cap: int = DEFAULT_CAP) -> int:
    """``avg P + clamp(interest − avg P, −0.05 %, +0.05 %)``, within ``±cap``."""
    rate = average_premium + max(-CLAMP, min(CLAMP, interest - average_premium))
    return max(-cap, min(cap, rate))


def mark_price(
    index: int, rate: int | None, until_funding_ms: int, basis_average: int, last_price: int | None
) -> int:
    """``median(price 1, price 2, last price)``; ``rate`` None for a delivery contract, whose
    price 1 is price 2 (see the module docstring)."""
    price2 = index + basis_average
    if rate is None:
        price1 = price2
    else:
        price1 = index + round_div(index * rate * until_funding_ms, ONE * FUNDING_INTERVAL_MS)
    last = price2 if last_price is None else last_price
    return sorted((price1, price2, last))[1]


class PremiumAverage:
    """The time-weighted average premium of one funding interval, in constant memory."""

    __slots__ = ("count", "weighted", "weights")

    def __init__(self) -> None:
        self.count = 0
        self.weighted = 0  # Σ k · P_k
        self.weights = 0  # Σ k

    def add(self, premium: int) -> None:
        self.count += 1
        self.weighted += self.count * premium
        self.weights += self.count

    def average(self) -> int:
        return round_div(self.weighted, self.weights) if self.weights else 0

    def reset(self) -> None:
        self.count = self.weighted = self.weights = 0


class BasisAverage:
    """The moving average of the last ``BASIS_WINDOW_S`` basis samples: a ring of integers
    and their running sum, so its memory is fixed (8 bytes a sample)."""

    __slots__ = ("_ring", "_total", "count", "position")

    def __init__(self, size: int = BASIS_WINDOW_S) -> None:
        self._ring = array("q", bytes(8 * size))
        self._total = 0
        self.count = 0
        self.position = 0

    def add(self, basis: int) -> None:
        ring = self._ring
        if self.count == len(ring):
            self._total -= ring[self.position]
        else:
            self.count += 1
        ring[self.position] = basis
        self._total += basis
        self.position = (self.position + 1) % len(ring)

    def average(self) -> int:
        return round_div(self._total, self.count) if self.count else 0


class SettleAverage:
    """The mean index since the last whole half hour: the estimated settle price."""

    __slots__ = ("_count", "_period_end_ms", "_total")

    def __init__(self) -> None:
        self._period_end_ms = 0
        self._total = 0
        self._count = 0

    def add(self, now_ms: int, index: int) -> None:
        if now_ms >= self._period_end_ms:
            self._period_end_ms = (now_ms // _SETTLE_PERIOD_MS + 1) * _SETTLE_PERIOD_MS
            self._total = self._count = 0
        self._total += index
        self._count += 1

    def value(self) -> int:
        return round_div(self._total, self._count) if self._count else 0
