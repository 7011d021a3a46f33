"""Decision 7's open-order margin, read from the sums ``contract.Resting`` keeps (one
implementation for linear and inverse contracts), is exactly the definition's: part 3 §7.3's
cost order by order in ``Fraction``s, pro rata beyond what would close the position, an
inverse order's notional rounded down at 8 decimals (decision 7), each side's margin in 1e-8
of the asset rounded down (part 3 §10, Unresolved 13: a margin figure is written so)."""

from __future__ import annotations

import contextlib
import math
import random
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_engine import ALICE, Book, Deposits, Kept, order

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Trades
from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.orders import Order, OrderType, PositionSide, Side, TimeInForce
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.stamped import StampedDict, StampedSet
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_leverage

NOW = 1_790_000_000_000

BTCUSDT = Contract(next(i for i in catalogue(Market.UM, 1_790_000_000_000) if i.symbol == "BTCUSDT"))
BTCUSD_PERP = Contract(next(i for i in catalogue(Market.CM, 1_790_000_000_000) if i.symbol == "BTCUSD_PERP"))


def _cost(contract: Contract, side: Side, qty: int, price: int, mark: Fraction, leverage: int) -> Fraction:
    """§7.3 for one order, as the spec writes it: initial margin at the order's price plus
    the open loss against the mark (inverse: in the coin, the notional at the mark less the
    order's, ``q × CS / p`` rounded down at 8 decimals, when the order is on the losing side)."""
    q, p = Fraction(qty, contract.qty_one), Fraction(price, contract.price_one)
    if contract.inverse:
        size = contract.inst.contract_size
        notional = Fraction(math.floor(q * size / p * 10**8), 10**8)
        loss = side.sign * (q * size / mark - notional) if side.sign * (p - mark) > 0 else 0
        return notional / leverage + loss
    return q * p / leverage + q * max(Fraction(0), side.sign * (p - mark))


def _definition(
    orders: list[tuple[Side, int, int]], held: int, mark: Fraction, leverage: int, contract: Contract = BTCUSDT
) -> int:
    """Per side: the part beyond what would close the opposite position, its orders' costs
    (initial margin at their price plus the open loss against mark) pro rata, in 1e-8 rounded
    down; the larger."""
    sides = []
    for side in (Side.BUY, Side.SELL):
        mine = [(qty, price) for s, qty, price in orders if s is side and qty > 0]
        total = sum(qty for qty, _ in mine)
        if not total:
            sides.append(Fraction(0))
            continue
        share = Fraction(max(0, total - max(0, -side.sign * held)), total)
        costs = (_cost(contract, side, qty, price, mark, leverage) for qty, price in mine)
        sides.append(sum(costs, Fraction(0)) * share)
    return max(math.floor(side * 10**8) for side in sides)


_ORDERS = st.lists(st.tuples(st.sampled_from(Side), st.integers(0, 5_000), st.integers(1, 10**7)), max_size=8)
_MARKS = st.fractions(min_value=Fraction(1, 100), max_value=10**6, max_denominator=10**8)


@given(_ORDERS, st.tuples(st.sampled_from(Side), st.integers(1, 5_000), st.integers(1, 10**7)),
       st.integers(-6_000, 6_000), _MARKS, st.integers(1, 125), st.sampled_from([BTCUSDT, BTCUSD_PERP]),
       st.integers(0, 8))  # fmt: skip
def test_a_ledgers_margins_without_and_with_an_order_are_the_definitions(
    orders: list[tuple[Side, int, int]], extra: tuple[Side, int, int], held: int, mark: Fraction,
    leverage: int, contract: Contract, gone: int,
) -> None:  # fmt: skip
    """What a new order's margin check reads (``Ledger.open_order_ims``, from the sums kept
    as orders open, fill and close): both values, each the definition's, in either market."""
    symbol = contract.inst.symbol
    ledger = Ledger(1, inverse=contract.inverse, contracts={symbol: contract}, leverage={symbol: leverage})
    ledger.position(symbol).amt = held
    resting = [
        Order(1, symbol, n, f"c{n}", side, OrderType.LIMIT, TimeInForce.GTC, price, qty + 3, False, 0, NOW, NOW)
        for n, (side, qty, price) in enumerate(orders, start=1)
    ]  # fmt: skip
    for one in resting:
        ledger.opened(one)
        one.executed_qty = 3  # a partial fill: what it has left is counted
        ledger.touch(one)
    for one in resting[:gone]:  # and some of them close
        ledger.closed(one)
    left = [(side, qty, price) for side, qty, price in orders[gone:]]
    side, qty, price = extra
    new = Order(1, symbol, 99, "new", side, OrderType.LIMIT, TimeInForce.GTC, price, qty, False, 0, NOW, NOW)
    without, with_ = ledger.open_order_ims(contract, mark, new, qty)
    assert without == _definition(left, held, mark, leverage, contract)
    assert with_ == _definition([*left, extra], held, mark, leverage, contract)


@given(
    st.lists(st.tuples(st.sampled_from(Side), st.integers(1, 5_000), st.integers(1, 10**7), st.booleans()),
             max_size=8),
    st.tuples(st.sampled_from(Side), st.integers(1, 5_000), st.integers(1, 10**7), st.booleans()),
    st.integers(-6_000, 6_000),
    st.fractions(min_value=Fraction(1, 100), max_value=10**6, max_denominator=10**8),
    st.booleans(),
)
def test_a_ledgers_margins_without_and_with_an_order_are_its_open_order_margins(
    resting: list[tuple[Side, int, int, bool]], extra: tuple[Side, int, int, bool], held: int, mark: Fraction,
    hedge: bool,
) -> None:  # fmt: skip
    """``Ledger.open_order_ims`` (a placement's margin check, in one pass) against
    ``open_order_im`` without the order and with it counted as resting, in either mode."""
    ledger = Ledger(1, hedge=hedge)
    if not hedge:
        ledger.position("BTCUSDT").amt = held

    def made(n: int, side: Side, qty: int, price: int, reduce_only: bool) -> Order:
        return Order(1, "BTCUSDT", n, f"c{n}", side, OrderType.LIMIT, TimeInForce.GTC, price, qty, reduce_only, 0,
                     NOW, NOW, position_side=PositionSide.LONG if hedge else PositionSide.BOTH)  # fmt: skip

    for n, row in enumerate(resting, start=1):
        ledger.opened(made(n, *row))
    order = made(len(resting) + 1, *extra)
    without, with_ = ledger.open_order_ims(BTCUSDT, mark, order, extra[1])
    assert without == ledger.open_order_im(BTCUSDT, mark)
    assert with_ == ledger.open_order_im(BTCUSDT, mark, (order, ((extra[1], order.price),)))


@given(
    st.lists(st.tuples(st.sampled_from(Side), st.integers(1, 5_000), st.integers(1, 10**7)), min_size=1,
             max_size=8),
    st.integers(0, 7), st.integers(1, 5_000), st.integers(1, 10**7), st.integers(0, 4_999),
    st.integers(-6_000, 6_000), _MARKS, st.booleans(), st.sampled_from([BTCUSDT, BTCUSD_PERP]),
)  # fmt: skip
def test_a_modifications_margin_is_the_ledgers_with_the_order_moved(
    resting: list[tuple[Side, int, int]], which: int, qty: int, price: int, filled: int, held: int,
    mark: Fraction, hedge: bool, contract: Contract,
) -> None:  # fmt: skip
    """``Ledger.moved_cost`` (a modification's margin check, nothing changed) is the
    open-order margin as a ledger whose order rests at its new quantity and price works it
    out, less the margin as it is: its old place taken out exactly, partly filled or not,
    either mode."""
    symbol = contract.inst.symbol

    def ledger_of(rows: list[tuple[Side, int, int]], executed: int) -> tuple[Ledger, list[Order]]:
        ledger = Ledger(1, hedge=hedge, inverse=contract.inverse, contracts={symbol: contract})
        if not hedge:
            ledger.position(symbol).amt = held
        made = []
        for n, (side, q, p) in enumerate(rows, start=1):
            one = Order(1, symbol, n, f"c{n}", side, OrderType.LIMIT, TimeInForce.GTC, p, q, False, 0, NOW, NOW,
                        position_side=(PositionSide.LONG if side is Side.BUY else PositionSide.SHORT) if hedge
                        else PositionSide.BOTH)  # fmt: skip
            one.executed_qty = min(executed, q - 1) if n == which % len(rows) + 1 else 0
            ledger.opened(one)
            made.append(one)
        return ledger, made

    ledger, made = ledger_of(resting, filled)
    order = made[which % len(resting)]
    cost = ledger.moved_cost(contract, mark, order, qty, price)
    now = ledger.open_order_im(contract, mark)
    moved = [*resting]
    moved[which % len(resting)] = (order.side, qty + order.executed_qty, price)  # what rests: qty
    again, _ = ledger_of(moved, order.executed_qty)
    assert cost == again.open_order_im(contract, mark) - now


@pytest.mark.parametrize("contract", [BTCUSDT, BTCUSD_PERP], ids=["usds-m", "coin-m"])
@pytest.mark.parametrize("seed", range(3))
def test_the_sums_kept_as_orders_open_fill_move_and_close_are_the_ones_made_afresh(
    seed: int, contract: Contract
) -> None:
    """Seeded random opens, partial fills, modifications (price and quantity) and cancels of
    one account's orders on one symbol, in either market: after each, the sums the ledger
    kept as they happened give the open orders' values (``b``/``a``) and open-order margin a
    ledger made anew from the open orders gives, and that margin is the definition's."""
    rng = random.Random(seed)
    symbol, base, leverage = contract.inst.symbol, contract.inst.initial_price, rng.randrange(1, 126)
    held = rng.randrange(-3_000, 3_000)
    ledger = Ledger(1, inverse=contract.inverse, contracts={symbol: contract}, leverage={symbol: leverage})
    ledger.position(symbol).amt = held
    resting: list[Order] = []
    for n in range(1, 400):
        roll, price = rng.random(), base + rng.randrange(-base // 20, base // 20)
        if roll < 0.4 or not resting:
            one = Order(1, symbol, n, f"c{n}", rng.choice((Side.BUY, Side.SELL)), OrderType.LIMIT,
                        TimeInForce.GTC, price, rng.randrange(1, 5_000), False, 0, NOW, NOW)  # fmt: skip
            ledger.opened(one)
            resting.append(one)
        elif roll < 0.6 and (one := rng.choice(resting)).remaining > 1:  # a partial fill
            one.executed_qty += rng.randrange(1, one.remaining)
            ledger.touch(one)
        elif roll < 0.8:  # a modification: a new price, a new quantity above what filled
            one = rng.choice(resting)
            one.price, one.orig_qty = price, one.executed_qty + rng.randrange(1, 5_000)
            ledger.touch(one)
        else:  # cancelled, or filled whole
            one = resting.pop(rng.randrange(len(resting)))
            ledger.closed(one)
        mark = Fraction(base + rng.randrange(-base // 20, base // 20), contract.price_one)
        again = Ledger(1, inverse=contract.inverse, contracts={symbol: contract}, leverage={symbol: leverage})
        again.position(symbol).amt = held
        for one in resting:
            again.opened(one)
        assert ledger.open_values(symbol) == again.open_values(symbol)
        margin = ledger.open_order_im(contract, mark)
        assert margin == again.open_order_im(contract, mark)
        assert margin == _definition([(o.side, o.remaining, o.price) for o in resting], held, mark, leverage, contract)


def fresh_ledger(ledger: Ledger) -> Ledger:
    """A ledger made anew with ``ledger``'s orders, positions, leverage, margin types, mode
    and wallet changes: nothing worked out yet, so its answers are the definition's."""
    again = Ledger(ledger.account_id, hedge=ledger.hedge, leverage=dict(ledger.leverage))
    again.isolated = StampedSet(ledger.isolated)
    again.changes = dict(ledger.changes)
    again.positions = StampedDict({key: position.copy() for key, position in ledger.positions.items()})
    for resting in ledger.open_orders.values():
        for one in resting.values():
            again.opened(one)
    return again


def trade_through(engine: Engine, rng: random.Random, price: str, now: int) -> None:
    """The market trades 0.010 BTCUSDT at one of ALICE's resting orders' prices (or at
    ``price``): it fills them, in part or all."""
    mine = engine.open_orders(ALICE, "BTCUSDT")
    at = f"{rng.choice(mine).price / 100:.2f}" if mine and rng.random() < 0.7 else price
    trade = {"e": "aggTrade", "E": now, "a": now, "s": "BTCUSDT", "p": at, "q": "0.010",
             "nq": "0", "f": 1, "l": 1, "T": now, "m": rng.random() < 0.5}  # fmt: skip
    engine.apply(Trades(tuple([StreamMessage("btcusdt@aggTrade", msgspec.json.encode(trade))])), now)


@pytest.mark.parametrize("hedge", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_the_open_order_margin_kept_per_symbol_is_always_the_one_worked_out_afresh(seed: int, hedge: bool) -> None:
    """A margin check values every symbol the account is active on from a value kept per
    symbol (``Ledger.open_order_im``); after every kind of change (a placement, a cancel, a
    taker's fill, a resting order's partial fill by the market, a modification, a leverage,
    the mark moving) the kept value is what a ledger made anew works out."""
    rng = random.Random(seed)
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())
    contract, now = engine.contracts["BTCUSDT"], NOW
    if hedge:
        set_dual_side(engine, ALICE, True)

    def opening(side: str) -> dict[str, str]:  # in hedge mode, a side's opening order
        return {"side": side, **({"positionSide": "LONG" if side == "BUY" else "SHORT"} if hedge else {})}

    for _ in range(300):
        now += 100
        roll = rng.random()
        price = f"{rng.randrange(59_000, 61_000)}.{rng.randrange(10)}0"
        side = rng.choice(("BUY", "SELL"))
        with contextlib.suppress(RequestRefused):
            if roll < 0.35:
                new_order(engine, ALICE, order(**opening(side), quantity="0.050", price=price), now)
            elif roll < 0.45:
                new_order(engine, ALICE, order(**opening(side), type="MARKET", quantity="0.020"), now)
            elif (roll < 0.6 or roll >= 0.9) and (mine := engine.open_orders(ALICE, "BTCUSDT")):
                chosen = rng.choice(mine)
                if roll < 0.6:
                    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(chosen.order_id)}, now)
                else:
                    amend_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(chosen.order_id),
                                           "side": chosen.side.value, "quantity": "0.040", "price": price}, now)  # fmt: skip
            elif roll < 0.7:
                set_leverage(engine, ALICE, "BTCUSDT", rng.randrange(1, 50), now)
            elif roll < 0.8:
                book.marks["BTCUSDT"] = Fraction(rng.randrange(5_900_000, 6_100_000), 100)
            else:  # the market trades at a resting order's price, or through one: it fills, in part or all
                trade_through(engine, rng, price, now)
        engine.outbox.take()
        mark = engine.mark("BTCUSDT")
        assert mark is not None
        ledger = engine.ledger(ALICE)
        assert ledger.open_order_im(contract, mark) == fresh_ledger(ledger).open_order_im(contract, mark)
