"""The checks of a new order that read the market: its price when matched to the book
(``priceMatch``), PERCENT_PRICE and MIN_NOTIONAL (part 2 §8 steps 7–8, §10), and what it
would cost in margin (part 3 §7.3, decision 7), the check against it (-2019). The engine runs
them in that order.

- ``priceMatch``: ``OPPONENT[_n]`` the n-th best level of the other side, ``QUEUE[_n]`` of
  its own (part 2 §3.3); no such level: -5041.
- PERCENT_PRICE, LIMIT: a buy above ``mark × multiplierUp`` is -4016, a sell below
  ``mark × multiplierDown`` -4024, each naming the bound on the tick as the live text does
  (``Limit price can't be higher than 9953.53``).
- MARKET: it may take no level beyond ``mark × (1 ± marketTakeBound)`` (decision 8); when
  the best opposite level is already beyond it: -4131 (COIN-M -4113).
- MIN_NOTIONAL (USDⓈ-M): price × quantity, a MARKET order's at mark, at least the filter's
  ``notional`` unless reduce-only: -4164.
- Cost: a LIMIT order's is how much the symbol's open-order margin grows with it; a MARKET
  order's is the initial margin and open loss of the part that increases the position, at
  an assumed price (the best ask + 0.05 % for a buy; the best bid or the mark, the higher,
  for a sell; part 3 §7.3).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from itertools import islice

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.exchange_info import OrderFilters
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.book.ports import MarketData
from tickerplant.venue.domain.commands import NewOrder
from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.order_params import PRICE_MATCHES, refused
from tickerplant.venue.domain.orders import Order
from tickerplant.venue.ledger.figures import Figures
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.seat import Seat

__all__ = [
    "check_limit_market", "check_margin", "check_market", "check_stop_limit", "margin_need", "margin_room",
    "matched_price", "order_cost", "price_matched",
]

Levels = Callable[[str, bool], Iterator[tuple[int, int]]]  # (symbol, bids) -> levels, best first
_UNBOUNDED = 10**18
# read by each order's checks: an Enum member read from its class goes through 3.11's ``EnumType``
# hook (~100 ns here), a module's name ~12 ns
_UM = Market.UM


def price_matched(new: NewOrder, levels: Levels) -> int:
    return matched_price(new.inst.symbol, new.side.is_buy, new.price_match, levels)


def matched_price(symbol: str, buy: bool, match: str, levels: Levels) -> int:
    """The price ``match`` (a mode of ``PRICE_MATCHES``) gives a buy or a sell on the book now:
    its own side's or the other's nth level; -5041 when the book has no such level."""
    own, nth = PRICE_MATCHES[match]
    level = next(islice(levels(symbol, own == buy), nth - 1, None), None)
    if level is None:
        raise refused(-5041, "No depth matches this BBO order")
    return level[0]


@functools.lru_cache(maxsize=256)
def _exact(text: str) -> Fraction:
    """A filter's decimal text as an exact fraction (a handful of texts, read per order)."""
    return Fraction(Decimal(text))


@functools.lru_cache(maxsize=1024)
def _percent_bounds(up: str, down: str, mark_n: int, mark_d: int, price_one: int) -> tuple[int, int]:
    """PERCENT_PRICE's bounds in price units for a mark ``mark_n / mark_d`` (it changes once
    a second, orders come by the thousand; keyed by integers: a ``Fraction``'s hash is a
    modular inverse, computed again on every lookup): the floor of ``mark × up`` and the
    ceiling of ``mark × down``, which an integer price passes exactly when it passes the
    rational bound."""
    mark = Fraction(mark_n, mark_d)
    high, low = mark * _exact(up) * price_one, mark * _exact(down) * price_one
    return high.numerator // high.denominator, -(-low.numerator // low.denominator)


@functools.lru_cache(maxsize=256)
def _least_notional(min_notional: str, units_one: int) -> int:
    """MIN_NOTIONAL in units of quantity units × price units (``units_one`` of them in one
    whole), rounded up: an integer ``qty × price`` is below the filter exactly when it is
    below this."""
    least = _exact(min_notional) * units_one
    return -(-least.numerator // least.denominator)


def check_market(
    new: NewOrder, price: int, mark: Fraction | None, contract: Contract, f: OrderFilters, levels: Levels
) -> int:
    """PERCENT_PRICE and MIN_NOTIONAL; the price a taker may walk to (a LIMIT order's own,
    a MARKET order's bounded by the mark)."""
    inst = new.inst
    buy = new.side.is_buy
    if new.type.is_limit:
        check_limit_market(contract, f, buy, price, new.qty, mark, new.reduce_only)
        return price
    limit = _UNBOUNDED if buy else 0
    if mark is not None:
        bound = _exact(f.market_take_bound)
        # the exact edge, on the tick grid inward: a buy's floor, a sell's ceiling (a sell's
        # edge truncated to a whole unit first would let it one tick past the bound)
        edge = mark * (1 + bound if buy else 1 - bound) * contract.price_one / inst.tick
        limit = (math.floor(edge) if buy else math.ceil(edge)) * inst.tick
        best = next(levels(inst.symbol, not buy), None)
        if best is not None and (best[0] > limit if buy else best[0] < limit):
            code = -4131 if inst.market is _UM else -4113
            raise refused(code, "The counterparty's best price does not meet the PERCENT_PRICE filter limit.")
    small = mark is not None and contract.qty(new.qty) * mark < _exact(f.min_notional)  # at mark
    if inst.market is _UM and not new.reduce_only and small:
        raise _too_small(f)
    return limit


class _Last:
    """The last PERCENT_PRICE bounds worked out, and the filters and mark they are for:
    orders come by the thousand on a symbol between two marks (the market's marks are one
    object per payload), so the same filters and mark are found by identity first, before
    ``_percent_bounds``' cache hashes its key."""

    __slots__ = ("above", "below", "f", "least", "least_f", "mark", "price_one", "units_one")

    def __init__(self) -> None:
        self.f: OrderFilters | None = None
        self.mark: Fraction | None = None
        self.price_one = self.above = self.below = 0
        self.least_f: OrderFilters | None = None  # and the last MIN_NOTIONAL, in units
        self.units_one = self.least = 0


_LAST = _Last()


def check_limit_market(
    contract: Contract, f: OrderFilters, buy: bool, price: int, qty: int, mark: Fraction | None,
    reduce_only: bool = False,
) -> None:  # fmt: skip
    """``check_market`` of a LIMIT order (a new one, or one as a modification leaves it):
    PERCENT_PRICE against the mark, then MIN_NOTIONAL (USDⓈ-M, unless reduce-only), from
    the price and quantity alone (a modification makes no ``NewOrder`` to be checked)."""
    if mark is not None:
        _check_percent(contract, f, buy, price, mark)
    last, units_one = _LAST, contract.qty_one * contract.price_one
    if last.least_f is f and last.units_one == units_one:  # as the bounds: the same filters
        least = last.least
    else:
        least = _least_notional(f.min_notional, units_one)
        last.least_f, last.units_one, last.least = f, units_one, least
    if qty * price < least and not reduce_only and contract.inst.market is _UM:  # in units, exact
        raise _too_small(f)


def _check_percent(contract: Contract, f: OrderFilters, buy: bool, price: int, mark: Fraction) -> None:
    """PERCENT_PRICE of a priced order: -4016 above ``mark × multiplierUp``, -4024 below
    ``mark × multiplierDown``, each naming the bound on the tick."""
    inst = contract.inst
    last = _LAST
    if last.mark is mark and last.f is f and last.price_one == contract.price_one:
        above, below = last.above, last.below
    else:
        above, below = _percent_bounds(
            f.multiplier_up, f.multiplier_down, mark.numerator, mark.denominator, contract.price_one
        )
        last.f, last.mark, last.price_one, last.above, last.below = f, mark, contract.price_one, above, below
    if buy and price > above:  # above mark × multiplierUp (exact: ``above`` is its floor)
        cap = _band_on_tick(inst, f, mark * contract.price_one)[0]
        raise refused(-4016, f"Limit price can't be higher than {fixed(cap, inst.price_decimals)}")
    if not buy and price < below:  # below mark × multiplierDown (``below``: its ceiling)
        floor = _band_on_tick(inst, f, mark * contract.price_one)[1]
        raise refused(-4024, f"Limit price can't be lower than {fixed(floor, inst.price_decimals)}")


def _band_on_tick(inst: Instrument, f: OrderFilters, reference: Fraction) -> tuple[int, int]:
    """PERCENT_PRICE's band around ``reference`` (price units, exact: a mark, a trigger) as the
    prices on the tick within it: the highest at most ``reference × multiplierUp``, the
    lowest at least ``reference × multiplierDown``; what a refusal names."""
    high, low = reference * _exact(f.multiplier_up), reference * _exact(f.multiplier_down)
    return int(high) // inst.tick * inst.tick, math.ceil(low / inst.tick) * inst.tick


def check_stop_limit(contract: Contract, f: OrderFilters, buy: bool, price: int, trigger: int) -> None:
    """A STOP or TAKE_PROFIT algo order's limit price against its trigger price (part 2 §4.2:
    "bounded relative to the trigger price"; the observed bound was 5 % above it, BTCUSDT's
    PERCENT_PRICE ``multiplierUp``): PERCENT_PRICE's rule with the trigger for the mark, a buy
    above ``trigger × multiplierUp`` -4183 (COIN-M -4151), a sell below ``trigger ×
    multiplierDown`` -4184 (COIN-M -4152), each naming the bound on the tick."""
    inst, coin = contract.inst, contract.inst.market is Market.CM
    cap, floor = _band_on_tick(inst, f, Fraction(trigger))  # a price on the tick passes as the band
    pd = inst.price_decimals
    if buy and price > cap:
        raise refused(-4151 if coin else -4183, f"Limit price can't be higher than {fixed(cap, pd)}.")
    if not buy and price < floor:
        raise refused(-4152 if coin else -4184, f"Limit price can't be lower than {fixed(floor, pd)}.")


def _too_small(f: OrderFilters) -> RequestRefused:
    text = f"Order's notional must be no smaller than {f.min_notional} (unless you choose reduce only)."
    return refused(-4164, text)


def order_cost(
    seat: Seat[Ledger], contract: Contract, order: Order, qty: int, mark: Fraction,
    best: tuple[int, int] | None,
) -> int:  # fmt: skip
    """What placing ``qty`` of ``order`` adds to the margin the account needs (``best``: the
    best level of the other side), 1e-8 of the margin asset. A LIMIT order's cost is the
    symbol's open-order margin with it less without it, each as the figures hold it; a
    MARKET order's its §7.3 cost rounded down as a margin figure is (``figures.py``)."""
    if order.type.is_limit:
        without, with_ = seat.ledger.open_order_ims(contract, mark, order, qty, seat)
        return with_ - without
    if best is None:
        return 0
    best_price = contract.price(best[0])
    assumed = best_price * Fraction(10005, 10000) if order.side.is_buy else max(best_price, mark)
    position = seat.ledger.amount(contract.inst.symbol)
    increasing = max(0, qty - max(0, -order.side.sign * position))
    if not increasing:
        return 0
    return contract.order_cost(order.side, increasing, assumed, mark, seat.ledger.leverage_of(contract))


def margin_need(
    data: MarketData, seat: Seat[Ledger], contract: Contract, order: Order, qty: int, mark: Fraction
) -> int:
    """The order's cost (part 3 §7.3, decision 7): what the margin check weighs against the
    figures (``check_margin``)."""
    best = None  # the other side's best level: a MARKET order's assumed price (a LIMIT's reads none)
    if not order.type.is_limit:
        best = next(data.levels(contract.inst.symbol, order.side.is_sell), None)
    return order_cost(seat, contract, order, qty, mark, best)


def margin_room(figures: Figures, isolated: bool) -> int:
    """What a cost is weighed against (``check_margin``), 1e-8: the available balance; on an
    isolated symbol, what the cross wallet holds (``max_withdraw``): the margin moves into
    the isolated wallet as it fills, and unrealized profit is not money to move. The same
    choice for figures kept as integers: ``kept_figures.KeptAsset.room``."""
    return figures.max_withdraw_e8 if isolated else figures.available_e8


def check_margin(cost: int, room: int) -> None:
    """-2019 when ``cost`` (1e-8) exceeds ``room`` (``margin_room``; integers: ``figures.py``)."""
    if cost > 0 and cost > room:
        raise refused(-2019, "Margin is insufficient.")
