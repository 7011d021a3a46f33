"""The arithmetic of positions and margin, part 3 §6–§7, for linear (USDⓈ-M) and inverse
(COIN-M) contracts alike, exact: positions and open orders kept as sums of the integer units
the records keep (``Position``, ``Resting``), a ``Fraction`` only where a formula takes a
quotient (a mark, an entry price, an inverse position's Σ q/p), rounded only where Binance
rounds (8 decimals): where a figure is booked or written (a margin figure per position or
side, ``ledger/figures.py``), and an inverse order's notional (``order_value``).

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
- maintenance margin (§7.4) from the brackets: ``|notional| × MMR − cum``.

Brackets (§6.2) are data: BTC and ETH have their own tables, every other symbol ADAUSDT's
ladder (USDⓈ-M, notional in USDT); COIN-M uses BTCUSD_PERP's (in the coin) for every symbol.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from fractions import Fraction

from tickerplant.market.instruments import Instrument, Market
from tickerplant.venue.domain.money import AMOUNT_SCALE
from tickerplant.venue.domain.orders import PositionSide, Side

__all__ = [
    "DEFAULT_LEVERAGE",
    "Bracket",
    "Contract",
    "Position",
    "Resting",
    "brackets_of",
    "down",
    "toward_zero",
]

DEFAULT_LEVERAGE = 20  # decision 6: 20x, or the symbol's maximum if lower
_ZERO = Fraction(0)


@dataclass(frozen=True, slots=True)
class Bracket:
    initial_leverage: int
    floor: int  # notional (USDⓈ-M, in the margin asset) or quantity (COIN-M, in the coin)
    cap: int
    mmr: Fraction  # maintMarginRatio
    cum: Fraction  # maintenance amount


def _table(rows: tuple[tuple[int, int, int, str], ...]) -> tuple[Bracket, ...]:
    brackets: list[Bracket] = []
    cum, previous = Fraction(0), Fraction(0)
    for leverage, floor, cap, mmr_text in rows:
        mmr = Fraction(mmr_text)
        cum += floor * (mmr - previous)  # §6.1: the maintenance amount keeps MM continuous
        brackets.append(Bracket(leverage, floor, cap, mmr, cum))
        previous = mmr
    return tuple(brackets)


_BTCUSDT = _table((
    (125, 0, 50_000, "0.004"), (100, 50_000, 250_000, "0.005"), (50, 250_000, 3_000_000, "0.01"),
    (20, 3_000_000, 20_000_000, "0.025"), (10, 20_000_000, 40_000_000, "0.05"),
    (5, 40_000_000, 100_000_000, "0.1"), (4, 100_000_000, 120_000_000, "0.125"),
    (3, 120_000_000, 200_000_000, "0.15"), (2, 200_000_000, 300_000_000, "0.25"),
    (1, 300_000_000, 500_000_000, "0.5"),
))  # fmt: skip
_ETHUSDT = _table((
    (100, 0, 100_000, "0.005"), (75, 100_000, 250_000, "0.0065"), (50, 250_000, 2_000_000, "0.01"),
    (25, 2_000_000, 15_000_000, "0.02"), (10, 15_000_000, 30_000_000, "0.05"),
    (5, 30_000_000, 60_000_000, "0.1"), (4, 60_000_000, 80_000_000, "0.125"),
    (3, 80_000_000, 100_000_000, "0.15"), (2, 100_000_000, 150_000_000, "0.25"),
    (1, 150_000_000, 300_000_000, "0.5"),
))  # fmt: skip
_ALT_USDT = _table((
    (75, 0, 10_000, "0.0065"), (50, 10_000, 50_000, "0.01"), (25, 50_000, 250_000, "0.02"),
    (10, 250_000, 1_000_000, "0.05"), (5, 1_000_000, 2_000_000, "0.1"), (4, 2_000_000, 5_000_000, "0.125"),
    (3, 5_000_000, 10_000_000, "0.15"), (2, 10_000_000, 20_000_000, "0.25"),
))  # fmt: skip
_COIN = _table((
    (125, 0, 5, "0.004"), (100, 5, 10, "0.005"), (50, 10, 20, "0.01"), (20, 20, 50, "0.025"),
    (10, 50, 100, "0.05"), (5, 100, 200, "0.1"), (4, 200, 400, "0.125"), (3, 400, 1000, "0.15"),
    (2, 1000, 1500, "0.25"), (1, 1500, 3000, "0.5"),
))  # fmt: skip


def brackets_of(inst: Instrument) -> tuple[Bracket, ...]:
    if inst.market is Market.CM:
        return _COIN
    return {"BTC": _BTCUSDT, "ETH": _ETHUSDT}.get(inst.base_asset, _ALT_USDT)


def down(amount: Fraction) -> int:
    """``amount`` in 1e-8 units, rounded down (commission, decision 7)."""
    return (amount.numerator * AMOUNT_SCALE) // amount.denominator


def toward_zero(amount: Fraction) -> int:
    """``amount`` in 1e-8 units, truncated toward zero (PnL and notional, part 3 §4.3)."""
    units = abs(amount.numerator) * AMOUNT_SCALE // amount.denominator
    return units if amount >= 0 else -units


@dataclass(slots=True)
class Position:
    """One signed position per account, symbol and position side: ``BOTH`` in one-way mode,
    ``LONG`` (never below zero) and ``SHORT`` (never above) in hedge mode.

    Kept as sums, as an order keeps ``cum_quote``: the quantity (``amt``) and ``cost``, Σ of
    ``Contract.level_value`` over the open quantity (linear Σ q·p in quantity × price units,
    an integer while every reduction divides it; inverse Σ q/p). The entry price (§7.7) is
    their quotient, worked out where it is shown or a formula needs it."""

    amt: int = 0  # signed quantity units: + long, - short
    cost: int | Fraction = 0  # Σ level_value over the open quantity; 0 when flat
    update_ms: int = 0
    isolated_wallet: int = 0  # 1e-8 of the margin asset: the collateral of an isolated position
    side: PositionSide = PositionSide.BOTH
    contract: Contract | None = field(default=None, repr=False, compare=False)  # ``cost``'s units

    @property
    def entry(self) -> Fraction:
        """The entry price (§7.7): 0 when flat."""
        if not self.amt or self.contract is None:
            return _ZERO
        return self.contract.entry(abs(self.amt), self.cost)

    def copy(self) -> Position:
        return Position(self.amt, self.cost, self.update_ms, self.isolated_wallet, self.side, self.contract)


def _whole(value: int | Fraction) -> int | Fraction:
    """``value`` as an ``int`` when it is one (a linear position's sums stay integers)."""
    return value.numerator if isinstance(value, Fraction) and value.denominator == 1 else value


class Contract:
    """One symbol's arithmetic: units to values, and the formulas of §7."""

    __slots__ = ("_coin", "brackets", "inst", "inverse", "max_leverage", "price_one", "qty_one")

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.inverse = inst.market is Market.CM
        self.price_one: int = 10**inst.price_decimals  # price units in one whole
        self.qty_one: int = 10**inst.qty_decimals
        self.brackets = brackets_of(inst)
        self.max_leverage = self.brackets[0].initial_leverage
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

    def notional(self, qty_units: int, price: Fraction) -> Fraction:
        """Signed value of ``qty_units`` at ``price`` in the margin asset (§7.1)."""
        if self.inverse:
            return self.qty(qty_units) * self.inst.contract_size / price
        return self.qty(qty_units) * price

    def commission(self, qty_units: int, price: Fraction, rate: Fraction) -> int:
        """A fill's commission at ``rate`` (§10: fill notional × rate), 1e-8, rounded down."""
        return down(abs(self.notional(qty_units, price)) * rate)

    def pnl(self, qty_units: int, entry: Fraction, price: Fraction) -> Fraction:
        """The PnL of a signed ``qty_units`` opened at ``entry`` and valued at ``price``."""
        if self.inverse:
            return self.qty(qty_units) * self.inst.contract_size * (1 / entry - 1 / price)
        return self.qty(qty_units) * (price - entry)

    def settle(
        self, position: Position, side: Side, qty_units: int, price: Fraction, now_ms: int
    ) -> Fraction:
        """Apply a fill to ``position`` (§7.7); the PnL it realized. An increase adds to its
        sums (which averages the entry price: linear by quantity, inverse the harmonic
        mean); a reduction realizes ``n × (fill − EP)`` and keeps the entry price (the sums
        shrink pro rata); a flip closes it and opens the rest at the fill price."""
        signed = side.sign * qty_units
        amt = position.amt
        realized = _ZERO
        at = _whole(price * self.price_one)  # the fill's price in price units
        position.contract = self
        if amt == 0 or (amt > 0) == (signed > 0):  # opening or increasing
            opened = self.level_value(qty_units, at)
            position.cost = _whole(position.cost + opened) if amt else opened
            position.amt = amt + signed
        else:
            realized = self.realized(amt, position.entry, qty_units, price)
            position.amt = left = amt + signed
            if left == 0:
                position.cost = 0
            elif (left > 0) != (amt > 0):  # flipped: the rest opened at the fill
                position.cost = self.level_value(abs(left), at)
            else:
                position.cost = _whole(Fraction(position.cost * abs(left)) / abs(amt))
        position.update_ms = now_ms
        return realized

    def entry(self, size: int, cost: int | Fraction) -> Fraction:
        """The entry price of ``size`` quantity units whose sums are ``cost``: linear
        ``Σq·p / (N × price_one)``, inverse ``N / (Σ(q/p) × price_one)``."""
        if self.inverse:
            return Fraction(size) / (cost * self.price_one)
        return Fraction(cost, size * self.price_one)

    def cost_at(self, size: int, entry: Fraction) -> int | Fraction:
        """The sums of ``size`` quantity units opened at ``entry`` (a journaled row's)."""
        return _whole(self.level_value(size, _whole(entry * self.price_one))) if size else 0

    def unrealized(self, position: Position, mark: Fraction) -> Fraction:
        """§7.5 from the sums, the same value as ``pnl(amt, entry, mark)``: linear
        ``(q × MP − side × Σq·p / price_one) / qty_one``, inverse
        ``CS × (side × Σ(q/p) × price_one − q / MP) / qty_one``."""
        amt = position.amt
        if not amt:
            return _ZERO
        cost = position.cost if amt > 0 else -position.cost
        if self.inverse:
            return (cost * self.price_one - amt / mark) * self.inst.contract_size / self.qty_one
        return (amt * mark - Fraction(cost, self.price_one)) / self.qty_one

    def realized(self, amt: int, entry: Fraction, qty_units: int, price: Fraction) -> Fraction:
        """The PnL a fill of ``qty_units`` against the position ``amt`` opened at ``entry``
        realizes at ``price`` (§7.7: what it closes, ``n × (fill − EP) × side``)."""
        closed = min(qty_units, abs(amt))
        return self.pnl(closed if amt > 0 else -closed, entry, price)

    def isolate(
        self, position: Position, held: int, side: Side, qty_units: int, price: Fraction, realized: int,
        commission: int, mark: Fraction, leverage: int, *, release: bool = True,
    ) -> int:  # fmt: skip
        """A fill's change to an isolated position's wallet (§7.8), ``held`` the signed
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
        opened = qty_units - (min(qty_units, abs(held)) if held and (held > 0) != (side.sign > 0) else 0)
        closed = qty_units - opened
        fee_opened = commission * opened // qty_units
        wallet = position.isolated_wallet
        moved = 0
        if closed and closed == abs(held):
            moved, wallet = -(wallet + realized - (commission - fee_opened)), 0
        elif closed:
            wallet += realized - (commission - fee_opened)
            equity = position.isolated_wallet + toward_zero(self.pnl(held, position.entry, price))
            share = equity * closed // abs(held) if equity > 0 and release else 0
            moved = -max(0, min(wallet, share))
            wallet += moved
        if opened:
            brought = self.order_cost(side, opened, price, mark, leverage)
            moved += brought
            wallet += brought - fee_opened
        position.isolated_wallet = wallet
        return moved

    def maintenance(self, notional: Fraction) -> Fraction:
        """§7.4: ``|notional| × MMR − cum`` with the bracket that holds it."""
        size = abs(notional)
        bracket = self.brackets[-1]
        for candidate in self.brackets:
            if size <= candidate.cap:
                bracket = candidate
                break
        return max(Fraction(0), size * bracket.mmr - bracket.cum)

    def max_notional(self, leverage: int) -> int:
        """§6.1: the cap of the highest bracket whose initial leverage is at least ``leverage``."""
        allowed = [b.cap for b in self.brackets if b.initial_leverage >= leverage]
        return max(allowed) if allowed else self.brackets[0].cap

    def level_value(self, qty_units: int, price: int | Fraction) -> int | Fraction:
        """What ``Position.cost`` sums for ``qty_units`` opened at ``price`` (price units):
        linear ``q·p``, an integer for a fill's price; inverse ``q / p``, exact (the entry
        price is their quotient, §7.7)."""
        return Fraction(qty_units, 1) / price if self.inverse else qty_units * price

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

    def value_at(self, qty_units: int, price: Fraction) -> Fraction:
        """``order_value``'s units for ``qty_units`` at ``price`` (a whole-unit price: a mark,
        an assumed or a fill price), exact: linear ``q × price × price_one``, inverse
        ``q × CS / price`` in 1e-8 of the coin."""
        if self.inverse:
            return Fraction(qty_units * self.inst.contract_size * AMOUNT_SCALE, self.qty_one) / price
        return qty_units * price * self.price_one

    def resting_notional(self, value: int) -> Fraction:
        """The notional (§7.1, positive) of a sum of ``order_value``s: linear
        ``Σq·p / (qty_one·price_one)``, inverse ``Σ notional / 1e8``."""
        return Fraction(value, AMOUNT_SCALE if self.inverse else self.qty_one * self.price_one)

    def cost(
        self, side: Side, qty: int, value: int | Fraction, losing: tuple[int, int | Fraction], mark: Fraction,
        leverage: int, part: int | None = None,
    ) -> int:  # fmt: skip
        """§7.3's cost of opening, over orders on one side, in 1e-8 of the margin asset rounded
        down (part 3 §10, Unresolved 13; ``ledger/figures.py``): ``qty`` and ``value`` their
        sums (``order_value``'s units), ``losing`` the sums of those priced on the losing side
        of ``mark`` (a buy above it, a sell below it). Initial margin at the orders' prices
        plus the open loss against ``mark`` (linear ``q × max(0, ±(p − MP))``, inverse
        ``q × CS × max(0, ±(1/MP − 1/p))``: the notional at mark less the orders'), times
        ``part / qty`` (decision 7: the part beyond what would close the opposite position)."""
        units = value  # in ``order_value``'s units, times the leverage
        lost_qty, lost_value = losing
        if lost_qty:
            at_mark = self.value_at(lost_qty, mark)
            loss = (at_mark - lost_value) if (side is Side.SELL) != self.inverse else (lost_value - at_mark)
            units = value + loss * leverage
        share = qty if part is None else part
        whole = AMOUNT_SCALE if self.inverse else self.qty_one * self.price_one  # units in one of the asset
        # one floor division (an int has a numerator and a denominator too)
        return (units.numerator * share * AMOUNT_SCALE) // (units.denominator * whole * qty * leverage)

    def order_cost(self, side: Side, qty_units: int, price: Fraction, mark: Fraction, leverage: int) -> int:
        """§7.3 for one order of ``qty_units`` at ``price`` (a fill's, an assumed one), 1e-8,
        rounded down: its notional exact (a fill's margin, ``isolate``; a MARKET order's)."""
        if not qty_units:
            return 0
        value = self.value_at(qty_units, price)
        losing = (qty_units, value) if side.sign * (price - mark) > 0 else (0, 0)
        return self.cost(side, qty_units, value, losing, mark, leverage)

    def side_margin(
        self, side: Side, rests: list[Resting], mark: Fraction, leverage: int, closing: int = 0,
        extra: tuple[tuple[int, int], ...] = (),
    ) -> int:  # fmt: skip
        """Decision 7 for one side, 1e-8 rounded down (``cost``): the cost of ``rests``'
        orders (and ``extra``, quantities and prices in units, as if resting; a negative
        quantity one counted no longer: a modified order's old place) beyond the
        ``closing`` quantity that would close the opposite position, pro rata. Read from the
        sums ``Resting`` keeps: its cost does not grow with the orders, only with the price
        levels on the losing side of the mark (a buy resting above it: few, near the book's
        top)."""
        qty = lost_qty = value = lost_value = 0
        a, b = mark.numerator * self.price_one, mark.denominator  # the mark in price units: a / b
        buy = side is Side.BUY
        for rest in rests:
            qty += rest.qty
            value += rest.value
            prices = rest.prices
            if prices and (prices[-1] * b > a if buy else prices[0] * b < a):  # some on the losing side
                for price in rest.losing(side, a, b):
                    lost_qty += rest.levels[price]
                    lost_value += rest.values[price]
        for q, price in extra:  # counted as ``Ledger`` counts an order: its value rounded on its own
            worth = self.order_value(q, price) if q >= 0 else -self.order_value(-q, price)
            qty += q
            value += worth
            if price * b > a if buy else price * b < a:  # on the losing side
                lost_qty += q
                lost_value += worth
        if qty <= closing:
            return 0
        return self.cost(side, qty, value, (lost_qty, lost_value), mark, leverage, qty - closing)


@dataclass(slots=True)
class Resting:
    """Orders resting on one side of a symbol (``Ledger`` keeps one per account, symbol,
    position side, side and reduce-only flag), as the sums decision 7 reads: Σ quantity,
    Σ ``Contract.order_value`` (integers) and both at each price, kept as orders open, fill
    and close, so that a margin check costs the same with one order resting or a thousand."""

    qty: int = 0
    value: int = 0
    levels: dict[int, int] = field(default_factory=dict)  # price units -> Σ quantity
    values: dict[int, int] = field(default_factory=dict)  # price units -> Σ order_value
    prices: list[int] = field(default_factory=list)  # the levels' prices, ascending

    def add(self, qty: int, price: int, value: int) -> None:
        """Count ``qty`` more (negative: less) at ``price``, worth ``value``."""
        if qty:
            self.qty += qty
            self.value += value
            self._level(price, qty, value)

    def move(self, qty: int, price: int, value: int, now_qty: int, now_price: int, now_value: int) -> None:
        """An order counted as ``qty`` at ``price`` worth ``value`` now has ``now_qty`` at
        ``now_price`` worth ``now_value`` (a fill, a modification)."""
        self.qty += now_qty - qty
        self.value += now_value - value
        if now_price == price:
            self._level(price, now_qty - qty, now_value - value)
        else:
            self._level(price, -qty, -value)
            self._level(now_price, now_qty, now_value)

    def _level(self, price: int, qty: int, value: int) -> None:
        """``qty`` more at ``price``, worth ``value``: a level made at its first, gone with
        its last."""
        levels = self.levels
        held = levels.get(price)
        if held is None:
            if qty:
                insort(self.prices, price)
                levels[price] = qty
                self.values[price] = value
        elif held + qty:
            levels[price] = held + qty
            self.values[price] += value
        else:
            del levels[price]
            del self.values[price]
            del self.prices[bisect_left(self.prices, price)]

    def losing(self, side: Side, a: int, b: int) -> list[int]:
        """The prices on the losing side of a mark of ``a / b`` price units: a buy's above
        it, a sell's below it (§7.3's open loss)."""
        prices = self.prices
        if side is Side.BUY:
            return prices[bisect_right(prices, a // b) :]
        return prices[: bisect_left(prices, -(-a // b))]
