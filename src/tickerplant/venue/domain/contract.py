"""The arithmetic of positions and margin, part 3 §6–§7, for linear (USDⓈ-M) and inverse
(COIN-M) contracts alike, exact and in integers: positions and open orders kept as sums of
the integer units the records keep (``Position``, ``Resting``), rounded only where Binance
rounds (8 decimals): where a figure is booked or written (a margin figure per position or
side, ``ledger/figures.py``), and an inverse order's notional (``order_value``).

Each figure that is booked or written (a fill's realized PnL, commission and ``baseQty``, a
funding fee, a position's notional, uPnL, initial and maintenance margin, an order's cost)
is one formula for both markets, worked out from integers (quantity and price units, the
sums, a mark's or a rate's numerator and denominator) into one numerator and denominator,
and rounded by one integer division where Binance rounds (part 3 §10, Unresolved 13): PnL,
funding and notional toward zero (§4.3: truncated), commission, ``baseQty`` and margins
down. The ``Fraction`` forms (``notional``, ``pnl``, ``unrealized``, ``maintenance``,
``entry``) are the same numerators and denominators, for the formulas that take a quotient
(liquidation and bankruptcy price, ADL rank) and for readers in whole units.

A position's sums (``position.py``) are two integers; a ``Fraction`` is made only for the
readers of ``entry`` and the formulas that take a quotient.

- notional (§7.1): linear ``q × price`` in the margin asset; inverse ``q × CS / price`` in
  the coin;
- entry price (§7.7): an increase averages it (linear: weighted by quantity; inverse: the
  harmonic mean); a reduction keeps it and realizes ``n × (fill − EP) × side`` (inverse
  ``n × CS × (1/EP − 1/fill) × side``); a flip closes the position and opens the rest at
  the fill price;
- unrealized PnL (§7.5) at the mark;
- open-order margin (§7.3, decision 7): initial margin at the order price plus the open
  loss against mark, counting only the part of a side's orders that increases exposure,
  per symbol the larger of the buy and sell sides;
- maintenance margin (§7.4) from the brackets (``brackets.py``): ``|notional| × MMR − cum``.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

from tickerplant.market.instruments import Instrument, Market
from tickerplant.venue.domain.brackets import Bracket, bracket_at, brackets_of, caps_of, max_notional
from tickerplant.venue.domain.money import AMOUNT_SCALE, Ratio
from tickerplant.venue.domain.orders import BASE_FINE, Side
from tickerplant.venue.domain.position import FLAT, SUM_DENOMINATOR, Position, bounded
from tickerplant.venue.domain.resting import Resting

__all__ = [
    "DEFAULT_LEVERAGE",
    "SUM_DENOMINATOR",
    "Bracket",
    "Contract",
    "Position",
    "Resting",
    "bounded",
    "brackets_of",
    "down",
    "toward_zero",
]

DEFAULT_LEVERAGE = 20  # decision 6: 20x, or the symbol's maximum if lower
_ZERO = Fraction(0)


def down(amount: Fraction) -> int:
    """``amount`` in 1e-8 units, rounded down (commission, decision 7)."""
    return (amount.numerator * AMOUNT_SCALE) // amount.denominator


def toward_zero(amount: Fraction) -> int:
    """``amount`` in 1e-8 units, truncated toward zero (PnL and notional, part 3 §4.3)."""
    return _truncated(amount.numerator, amount.denominator)


def _truncated(num: int, den: int) -> int:
    """``num / den`` whole units of an asset (``den`` > 0) in 1e-8, truncated toward zero."""
    return num * AMOUNT_SCALE // den if num >= 0 else -(-num * AMOUNT_SCALE // den)


class Contract:
    """One symbol's arithmetic: units to values, and the formulas of §7."""

    __slots__ = ("_caps", "_coin", "brackets", "default_leverage", "inst", "inverse", "max_leverage",
                 "price_one", "qty_one")  # fmt: skip

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.inverse = inst.market is Market.CM
        self.price_one: int = 10**inst.price_decimals  # price units in one whole
        self.qty_one: int = 10**inst.qty_decimals
        self.brackets = brackets_of(inst)
        self.max_leverage = self.brackets[0].initial_leverage
        self.default_leverage = min(DEFAULT_LEVERAGE, self.max_leverage)  # decision 6
        self._caps = caps_of(self.brackets)  # §6.1's cap at each leverage (``max_notional``)
        # inverse: an order's notional in 1e-8 of the coin is ``q × _coin / (qty_one × p)``
        self._coin: int = inst.contract_size * self.price_one * AMOUNT_SCALE

    def __eq__(self, other: object) -> bool:  # its instrument's arithmetic: one per instrument
        return isinstance(other, Contract) and other.inst == self.inst

    def __hash__(self) -> int:
        return hash(self.inst)

    def price(self, units: int) -> Fraction:
        return Fraction(units, self.price_one)

    def qty(self, units: int) -> Fraction:
        return Fraction(units, self.qty_one)

    def _notional(self, qty_units: int, a: int, b: int) -> tuple[int, int]:
        """§7.1's notional of a signed ``qty_units`` at a price of ``a / b`` whole units, as a
        numerator and a positive denominator in whole units of the margin asset: linear
        ``q × price``, inverse ``q × CS / price``. Every notional, fee and funding fee is
        worked out from these integers with one division, where it is rounded."""
        if self.inverse:
            return qty_units * self.inst.contract_size * b, self.qty_one * a
        return qty_units * a, self.qty_one * b

    def notional(self, qty_units: int, price: Fraction) -> Fraction:
        """Signed value of ``qty_units`` at ``price`` in the margin asset (§7.1), exact."""
        return Fraction(*self._notional(qty_units, price.numerator, price.denominator))

    def valued(self, position: Position, mark: Fraction, leverage: int) -> tuple[int, int, int]:
        """A position's uPnL (§7.5, toward zero, §4.3), initial margin ``|notional| / L``
        (§7.2) and maintenance margin (§7.4), both rounded down (§10), in 1e-8: each from
        integers and the mark's numerator and denominator, with one division (the initial
        margin the written notional's ``// L``: ``⌊⌊x⌋ / L⌋ = ⌊x / L⌋``)."""
        amt = position.amt
        a, b = mark.numerator, mark.denominator
        num, den = self._notional(amt, a, b)
        im = _truncated(abs(num), den) // leverage
        return _truncated(*self._pnl(amt, abs(amt), position.cost, a, b)), im, self.maintenance_e8(num, den)

    def notional_e8(self, qty_units: int, price: Fraction) -> int:
        """``notional`` in 1e-8, truncated toward zero (part 3 §4.3)."""
        return _truncated(*self._notional(qty_units, price.numerator, price.denominator))

    def fill_notional(self, qty_units: int, price_units: int) -> tuple[int, int]:
        """A fill's notional (§7.1) at ``price_units``, exact: a numerator and a positive
        denominator in the margin asset (a liquidation's clearance fee is on their sum)."""
        return self._notional(qty_units, price_units, self.price_one)

    def base(self, qty_units: int, price_units: int) -> int:
        """A fill's notional (COIN-M's ``baseQty``, §7.1) in 1e-8, rounded down (§10)."""
        return self.bases(qty_units, price_units)[0]

    def bases(self, qty_units: int, price_units: int) -> tuple[int, int]:
        """``base``, and the same notional in 1e-24 of the coin (``Order.cum_base_fine``: the
        harmonic mean of an order's fills exact to far below a price's last decimal), from one
        exact quotient: the 1e-8 figure is the fine one rounded down further."""
        num, den = self._notional(qty_units, price_units, self.price_one)
        fine = num * BASE_FINE // den
        return fine // (BASE_FINE // AMOUNT_SCALE), fine

    def commission(self, qty_units: int, price_units: int, rate: Fraction) -> int:
        """A fill's commission at ``rate`` (§10: fill notional × rate), 1e-8, rounded down
        (§10, Unresolved 13: "round down to 8 dp"), from the exact product: one division."""
        num, den = self._notional(qty_units, price_units, self.price_one)
        return num * rate.numerator * AMOUNT_SCALE // (den * rate.denominator)

    def funding_fee(self, amt: int, mark: Fraction, rate: Fraction) -> int:
        """§9: what a position of ``amt`` pays (negative) or receives at ``mark`` and
        ``rate``, ``−notional × rate`` in 1e-8, truncated toward zero as a PnL is (worked
        example A: −3.05000000), at the rate capped (§9 "Caps": ``clamp(rate, −MMR, +MMR)``,
        the first bracket's, the spec's inference): a replayed file's rate past it (Binance's
        are within it, the simulated market's too, ``mark_price.DEFAULT_CAP``) charges the cap."""
        cap = self.brackets[0].mmr
        rate = cap if rate > cap else -cap if rate < -cap else rate
        num, den = self._notional(amt, mark.numerator, mark.denominator)
        return _truncated(-num * rate.numerator, den * rate.denominator)

    def _pnl(self, qty_units: int, size: int, cost: Ratio, a: int, b: int) -> tuple[int, int]:
        """The PnL (§7.5, §7.7) of a signed ``qty_units`` of a position of ``size`` units
        whose sums are ``cost`` (its entry price, ``entry``), valued at ``a / b`` whole units,
        as a numerator and a positive denominator in the margin asset: linear
        ``q × (P − EP)``, inverse ``q × CS × (1/EP − 1/P)`` with ``1/EP = Σ(q/p) × price_one / N``.
        The one formula of the realized and the unrealized PnL."""
        cn, cd = cost
        n, d = (1 if qty_units > 0 else -1, 1) if abs(qty_units) == size else (qty_units, size)
        if self.inverse:
            num = n * self.inst.contract_size * (cn * self.price_one * a - b * cd * size)
            return num, d * cd * a * self.qty_one
        return n * (a * cd * size * self.price_one - cn * b), d * b * cd * self.price_one * self.qty_one

    def pnl(self, qty_units: int, entry: Fraction, price: Fraction) -> Fraction:
        """The PnL of a signed ``qty_units`` opened at ``entry`` and valued at ``price``."""
        if not qty_units:
            return _ZERO
        size = abs(qty_units)
        cost = self.level_value(size, entry.numerator * self.price_one, entry.denominator)
        return Fraction(*self._pnl(qty_units, size, cost, price.numerator, price.denominator))

    def settle(
        self, position: Position, side: Side, qty_units: int, at: int, now_ms: int, maker: bool = False
    ) -> int:
        """Apply a fill at ``at`` price units to ``position`` (§7.7); the PnL it realized, 1e-8
        toward zero (``realized``). An increase adds to its sums (which averages the entry
        price: linear by quantity, inverse the harmonic mean); a reduction realizes
        ``n × (fill − EP)`` and keeps the entry price (the sums shrink pro rata); a flip
        closes it and opens the rest at the fill price. What a ``maker`` fill opens counts in
        ``maker_amt`` (the rate paid on opening), which shrinks pro rata, rounded down."""
        signed = side.sign * qty_units
        amt = position.amt
        realized = 0
        position.contract = self
        if amt == 0 or (amt > 0) == (signed > 0):  # opening or increasing
            opened = self.level_value(qty_units, at)
            if amt:
                (cn, cd), (on, od) = position.cost, opened
                position.cost = Ratio(cn + on, 1) if cd == od == 1 else bounded(cn * od + on * cd, cd * od)
            else:
                position.cost = opened
            position.amt = amt + signed
            if maker:
                position.maker_amt += qty_units
        else:
            realized = self.realized(amt, position.cost, qty_units, at)
            position.amt = left = amt + signed
            if left == 0:
                position.cost = FLAT
                position.maker_amt = 0
            elif (left > 0) != (amt > 0):  # flipped: the rest opened at the fill
                position.cost = self.level_value(abs(left), at)
                position.maker_amt = abs(left) if maker else 0
            else:  # the sums shrink pro rata
                cn, cd = position.cost
                position.cost = bounded(cn * abs(left), cd * abs(amt))
                position.maker_amt = position.maker_amt * abs(left) // abs(amt)
        position.update_ms = now_ms
        return realized

    def entry(self, size: int, cost: Ratio) -> Fraction:
        """``entry_ratio`` as a ``Fraction``, for the formulas that take a quotient of it."""
        return Fraction(*self.entry_ratio(size, cost))

    def entry_ratio(self, size: int, cost: Ratio) -> tuple[int, int]:
        """The entry price of ``size`` quantity units whose sums are ``cost``, in whole units,
        as a numerator and a denominator in lowest terms: linear ``Σq·p / (N × price_one)``,
        inverse ``N / (Σ(q/p) × price_one)``."""
        cn, cd = cost
        num, den = (size * cd, cn * self.price_one) if self.inverse else (cn, cd * size * self.price_one)
        g = gcd(num, den)
        return num // g, den // g

    def break_even(
        self, amt: int, cost: Ratio, maker_amt: int, maker: Fraction, taker: Fraction
    ) -> tuple[int, int]:
        """The break-even price (``breakEvenPrice``, ``bep``) of ``amt`` (not 0) whose sums are
        ``cost``, as a numerator and a denominator: the entry × (1 ± the rate paid on opening),
        §7.7 (the doc's 0.385 × 1.0002 a maker's), maker and taker weighted by ``maker_amt``."""
        size = abs(amt)
        num, den = self.entry_ratio(size, cost)
        made = min(maker_amt, size)
        rate = (made * maker + (size - made) * taker) / size
        per = rate.denominator
        return num * (per + rate.numerator if amt > 0 else per - rate.numerator), den * per

    def cost_at(self, size: int, num: int, den: int) -> Ratio:
        """The sums of ``size`` quantity units opened at an entry price of ``num / den`` whole
        units (a journaled row's), bounded."""
        return bounded(*self.level_value(size, num * self.price_one, den)) if size else FLAT

    def unrealized(self, position: Position, mark: Fraction) -> Fraction:
        """§7.5 from the sums, exact: the same value as ``pnl(amt, entry, mark)``."""
        return Fraction(*self.unrealized_at(position.amt, position.cost, mark)) if position.amt else _ZERO

    def unrealized_e8(self, position: Position, mark: Fraction) -> int:
        """``unrealized`` in 1e-8, truncated toward zero (§4.3, §7.5), one division."""
        return _truncated(*self.unrealized_at(position.amt, position.cost, mark)) if position.amt else 0

    def unrealized_at(self, amt: int, cost: Ratio, mark: Fraction) -> tuple[int, int]:
        """§7.5 of a position of ``amt`` (not 0) whose sums are ``cost``, at ``mark``: the
        numerator and positive denominator in the margin asset that ``unrealized`` divides."""
        return self._pnl(amt, abs(amt), cost, mark.numerator, mark.denominator)

    def realized(self, amt: int, cost: Ratio, qty_units: int, at: int) -> int:
        """The PnL a fill of ``qty_units`` at ``at`` price units realizes against the position
        ``amt`` whose sums are ``cost`` (§7.7: what it closes, ``n × (fill − EP) × side``),
        1e-8 truncated toward zero (§10: ``"-0.00325000"``; §4.3's rounding of a PnL)."""
        closed = min(qty_units, abs(amt))
        return _truncated(*self._pnl(closed if amt > 0 else -closed, abs(amt), cost, at, self.price_one))

    def isolate(
        self, position: Position, amt: int, side: Side, qty_units: int, price: Fraction, realized: int,
        commission: int, mark: Fraction, leverage: int, *, release: bool = True,
    ) -> int:  # fmt: skip
        """A fill's change to an isolated position's wallet (§7.8), ``amt`` the signed
        position before it, ``realized`` and ``commission`` its booking (1e-8):

        - what it opens brings its initial margin at the fill price and open loss against
          ``mark`` (§7.3) from the cross wallet, less that part's commission;
        - what it closes of a position that stays open books its realized PnL and that part's
          commission into the wallet, then releases the closed share of the position's equity
          at the fill price (wallet + uPnL), none of it when the equity is below zero: the
          remaining position keeps its margin ratio, and no loss it carries leaves with the
          release;
        - closing the position returns the whole wallet (its last PnL and fee included);
        - ``release`` false (a liquidation's fills, which close the position in full within
          one step): no share is released before the close, so that the wallet holds every
          loss still to come.

        Returns the margin moved from the cross wallet (negative: to it), 1e-8."""
        opened = qty_units - (min(qty_units, abs(amt)) if amt and (amt > 0) != (side.sign > 0) else 0)
        closed = qty_units - opened
        fee_opened = commission * opened // qty_units
        wallet = position.isolated_wallet
        moved = 0
        if closed and closed == abs(amt):
            moved, wallet = -(wallet + realized - (commission - fee_opened)), 0
        elif closed:
            wallet += realized - (commission - fee_opened)
            # the position's equity before the fill at its price (its entry price unchanged)
            pnl = self._pnl(amt, abs(position.amt), position.cost, price.numerator, price.denominator)
            equity = position.isolated_wallet + _truncated(*pnl)
            share = equity * closed // abs(amt) if equity > 0 and release else 0
            moved = -max(0, min(wallet, share))
            wallet += moved
        if opened:
            brought = self.order_cost(side, opened, price, mark, leverage)
            moved += brought
            wallet += brought - fee_opened
        position.isolated_wallet = wallet
        return moved

    def maintenance(self, notional: Fraction) -> Fraction:
        """§7.4: ``|notional| × MMR − cum`` with the bracket that holds it, exact."""
        size = abs(notional)
        bracket = bracket_at(self.brackets, size.numerator, size.denominator)
        return max(_ZERO, size * bracket.mmr - bracket.cum)

    def maintenance_e8(self, num: int, den: int) -> int:
        """§7.4 for a notional of ``num / den`` (``_notional``) in 1e-8, rounded down (§10;
        worked example B's 0.00076923): ``cum`` is on the 1e-8 grid, so one division."""
        size = abs(num)
        bracket = bracket_at(self.brackets, size, den)
        return max(0, size * bracket.mmr_num * AMOUNT_SCALE // (den * bracket.mmr_den) - bracket.cum_e8)

    def max_notional(self, leverage: int) -> int:
        """§6.1 (``brackets.max_notional``), read from the symbol's table of caps."""
        caps = self._caps
        return caps[leverage] if 0 <= leverage < len(caps) else max_notional(self.brackets, leverage)

    def past_cap(self, qty_units: int, mark: Fraction, leverage: int) -> bool:
        """Whether ``qty_units`` (either sign) at ``mark`` is worth more than ``leverage``'s
        ``max_notional`` (§6.3's ``-2027``), in integers: no ``Fraction`` made."""
        num, den = self._notional(qty_units, mark.numerator, mark.denominator)
        return abs(num) > self.max_notional(leverage) * den

    def level_value(self, qty_units: int, a: int, b: int = 1) -> Ratio:
        """What ``Position.cost`` sums for ``qty_units`` opened at ``a / b`` price units (a
        fill's: ``b`` 1), in lowest terms: linear ``q·p``, whole for a fill's price; inverse
        ``q / p``, exact (the entry price is their quotient, §7.7)."""
        num, den = (qty_units * b, a) if self.inverse else (qty_units * a, b)
        g = gcd(num, den)
        return Ratio(num // g, den // g)

    def order_value(self, qty_units: int, price_units: int) -> int:
        """What ``Resting`` sums for ``qty_units`` of an order resting at ``price_units``, an
        integer in both markets: linear ``q·p`` (quantity × price units: exact); inverse the
        order's notional ``q × CS / p`` in 1e-8 of the coin, rounded down (decision 7: a
        notional is rounded down at 8 decimals, as a fill's ``baseQty`` is, part 3 §10).
        Exact, an inverse side's Σ q/p would take every price it holds into its
        denominator: 2,705 digits with 1,000 orders resting, each sum slower than the last."""
        if self.inverse:
            return qty_units * self._coin // (self.qty_one * price_units)
        return qty_units * price_units

    def _value_at(self, qty_units: int, a: int, b: int) -> tuple[int, int]:
        """``order_value``'s units for ``qty_units`` at a price of ``a / b`` whole units (a
        mark, an assumed or a fill price), exact, as a numerator and a denominator: linear
        ``q × price × price_one``, inverse ``q × CS / price`` in 1e-8 of the coin."""
        if self.inverse:
            return qty_units * self.inst.contract_size * AMOUNT_SCALE * b, self.qty_one * a
        return qty_units * a * self.price_one, b

    def resting_notional(self, value: int) -> Fraction:
        """The notional (§7.1, positive) of a sum of ``order_value``s: linear
        ``Σq·p / (qty_one·price_one)``, inverse ``Σ notional / 1e8``."""
        return Fraction(value, AMOUNT_SCALE if self.inverse else self.qty_one * self.price_one)

    def cost(
        self, side: Side, qty: int, value: int, losing: tuple[int, int], mark: Fraction, leverage: int,
        part: int | None = None, over: int = 1, ratio: tuple[int, int] | None = None,
    ) -> int:  # fmt: skip
        """§7.3's cost of opening, over orders on one side, in 1e-8 of the margin asset rounded
        down (part 3 §10, Unresolved 13; ``ledger/figures.py``): ``qty`` and ``value`` their
        sums (``order_value``'s units), ``losing`` the sums of those priced on the losing side
        of ``mark`` (a buy above it, a sell below it). Initial margin at the orders' prices
        plus the open loss against ``mark`` (linear ``q × max(0, ±(p − MP))``, inverse
        ``q × CS × max(0, ±(1/MP − 1/p))``: the notional at mark less the orders'), times
        ``part / qty`` (decision 7: the part beyond what would close the opposite position).
        ``value`` and ``losing``'s are over ``over`` (one order's exact value, ``order_cost``).
        Integers and the mark's numerator and denominator: one division, the rounding."""
        units, den = value, over  # in ``order_value``'s units, times the leverage
        lost_qty, lost_value = losing
        if lost_qty:
            n, d = (mark.numerator, mark.denominator) if ratio is None else ratio  # ``side_margin``'s
            at, at_den = self._value_at(lost_qty, n, d)
            loss = at * over - lost_value * at_den  # over ``at_den × over``
            if side.is_sell == self.inverse:
                loss = -loss
            units, den = value * at_den + loss * leverage, at_den * over
        share = qty if part is None else part
        whole = AMOUNT_SCALE if self.inverse else self.qty_one * self.price_one  # units in one of the asset
        return (units * share * AMOUNT_SCALE) // (den * whole * qty * leverage)

    def order_cost(self, side: Side, qty_units: int, price: Fraction, mark: Fraction, leverage: int) -> int:
        """§7.3 for one order of ``qty_units`` at ``price`` (a fill's, an assumed one), 1e-8,
        rounded down: its notional exact (a fill's margin, ``isolate``; a MARKET order's)."""
        if not qty_units:
            return 0
        a, b = price.numerator, price.denominator
        value, over = self._value_at(qty_units, a, b)
        losing = (qty_units, value) if side.sign * (a * mark.denominator - mark.numerator * b) > 0 else (0, 0)
        return self.cost(side, qty_units, value, losing, mark, leverage, over=over)

    def side_margin(
        self, side: Side, rests: list[Resting], mark: Fraction, leverage: int, closing: int = 0,
        extra: tuple[tuple[int, int], ...] = (), ratio: tuple[int, int] | None = None,
    ) -> int:  # fmt: skip
        """Decision 7 for one side, 1e-8 rounded down (``cost``): the cost of ``rests``' orders
        (and ``extra``, quantities and prices in units, as if resting; a negative quantity one
        counted no longer: a modified order's old place) beyond the ``closing`` quantity that
        would close the opposite position, pro rata. Read from the sums ``Resting`` keeps: its
        cost grows not with the orders, only with the price levels on the losing side of the
        mark (a buy resting above it: few, near the book's top). ``ratio``: the mark's numerator
        and denominator, when the caller has them (a ``Fraction``'s are properties, a call each)."""
        qty = lost_qty = value = lost_value = 0
        if ratio is None:
            ratio = mark.numerator, mark.denominator
        a, b = ratio[0] * self.price_one, ratio[1]  # the mark in price units: a / b
        buy = side.is_buy
        for rest in rests:
            qty += rest.qty
            value += rest.value
            prices = rest.prices
            if prices and (prices[-1] * b > a if buy else prices[0] * b < a):  # some on the losing side
                levels = rest.levels
                for price in rest.losing(side, a, b):
                    level = levels[price]
                    lost_qty += level[0]
                    lost_value += level[1]
        inverse, value_of = self.inverse, self.order_value  # linear: q·p inline, exact either sign
        for q, price in extra:  # counted as ``Ledger`` counts an order: its value rounded on its own
            worth = (value_of(q, price) if q >= 0 else -value_of(-q, price)) if inverse else q * price
            qty += q
            value += worth
            if price * b > a if buy else price * b < a:  # on the losing side
                lost_qty += q
                lost_value += worth
        if qty <= closing:
            return 0
        return self.cost(side, qty, value, (lost_qty, lost_value), mark, leverage, qty - closing, ratio=ratio)
