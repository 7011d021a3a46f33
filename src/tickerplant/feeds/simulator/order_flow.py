"""What arrives at a simulated book: order sizes and how far from the touch orders rest.

**Sizes** are heavy-tailed, as on real exchanges, where the size of trades and orders
falls off like a power law (the "inverse half-cubic law": P(size > x) ~ x**-1.5 for large
x). Each order is a whole number of lots: the minimum plus a Lomax (Pareto II) draw with
tail index ``TAIL_INDEX``, capped at the instrument's maximum. Most orders are a few lots;
one in a hundred is some thirty times the median. The mean order's value grows with the
instrument's activity (a BTCUSDT order averages some ten thousand USDT, a thin altcoin's a
thousand or two), so smaller contracts trade smaller, in proportion to their activity.

**Placement** of passive orders: the distance from the own side's best price, in ticks,
falls off like a power law too, as measured on real books (here a density ~ d**-1.8):
most rest at or a few ticks behind the touch, a few far behind.

Both are pure functions of a uniform draw, so the simulator and the warm history
(``simulated_history``) size their orders alike from their own random streams.
"""

from __future__ import annotations

from tickerplant.market.instruments import Instrument, Market

__all__ = ["TAIL_INDEX", "OrderSizes", "lot_value", "placement_ticks"]

TAIL_INDEX = 1.6  # of order sizes: a finite mean, an infinite variance (kurtosis explodes)
_NEG_INV_TAIL = -1.0 / TAIL_INDEX
# mean order value (USDT on USDⓈ-M, USD on COIN-M) = _ORDER_VALUE * activity ** _ORDER_VALUE_POWER
_ORDER_VALUE = 1_500.0
_ORDER_VALUE_POWER = 0.55

# Placement: ticks behind the own best = int(_PLACE_SCALE * (u ** -(1/_PLACE_INDEX) - 1)).
_PLACE_SCALE = 2.0
_PLACE_INDEX = 0.8
_NEG_INV_PLACE = -1.0 / _PLACE_INDEX
_PLACE_MAX_TICKS = 5_000.0


def lot_value(inst: Instrument) -> float:
    """What one lot is worth at the instrument's initial price, in the quote currency."""
    lot: float = inst.step / 10**inst.qty_decimals
    if inst.market is Market.UM:
        price: float = inst.initial_price / 10**inst.price_decimals
        return price * lot
    return inst.contract_size * lot  # COIN-M: a contract is a fixed number of USD


class OrderSizes:
    """Heavy-tailed order sizes of one instrument, in whole lots."""

    __slots__ = ("max_lots", "mean_lots", "min_lots", "scale")

    def __init__(self, inst: Instrument) -> None:
        self.min_lots = max(1, -(-inst.min_qty // inst.step))
        self.max_lots = max(self.min_lots, inst.max_qty // inst.step)
        mean_value = _ORDER_VALUE * max(inst.activity, 1e-6) ** _ORDER_VALUE_POWER
        self.mean_lots = max(float(self.min_lots), mean_value / lot_value(inst))
        # a Lomax draw with this scale has mean scale / (TAIL_INDEX - 1)
        self.scale = (self.mean_lots - self.min_lots) * (TAIL_INDEX - 1.0)

    def lots(self, u: float, scale: float = 1.0) -> int:
        """The order size for the uniform draw ``u`` in [0, 1); ``scale`` multiplies the
        size above the minimum (market orders run larger than resting ones)."""
        extra = self.scale * scale * ((1.0 - u) ** _NEG_INV_TAIL - 1.0)
        lots = self.min_lots + int(extra)
        return lots if lots < self.max_lots else self.max_lots


def placement_ticks(u: float) -> int:
    """Ticks behind the own side's best price for a passive order, for a uniform ``u``."""
    ticks = _PLACE_SCALE * ((1.0 - u) ** _NEG_INV_PLACE - 1.0)
    return int(ticks) if ticks < _PLACE_MAX_TICKS else int(_PLACE_MAX_TICKS)
