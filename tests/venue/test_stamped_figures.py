"""An account's figures kept whole between margin checks (``Ledger.figures``,
``kept_figures.KeptAsset``) are, after every kind of change the venue makes to an account
(from ``ledger/``, ``engine/``, ``clearing/``), the figures a ledger made anew works out:
orders placed, cancelled, modified and filled (by a taker's walk and by the market's
trades), leverage, margin type, position mode, Multi-Assets mode, isolated margin moved,
deposits and withdrawals, marks moving, going and coming, funding fees, liquidations,
automatic exchanges. And every way of changing a stamped container changes its version."""

from __future__ import annotations

import contextlib
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import ALICE, BOB, Book, Deposits, Kept, order
from test_open_order_margin import fresh_ledger

from tickerplant.market.derivatives.mark_price import FUNDING_INTERVAL_MS, next_funding_ms
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import (
    AutoExchange,
    Marks,
    MoveMargin,
    SetMultiAssets,
    Trades,
    Transfers,
)
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.stamped import StampedDict, StampedSet
from tickerplant.venue.risk.risk import margin_room
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_leverage, set_margin_type

NOW = 1_790_000_000_000
ACCOUNTS = (ALICE, BOB)
ASSETS = ("USDT", "USDC")
SYMBOLS = ("BTCUSDT", "ETHUSDT")
_MIDS = {"BTCUSDT": 60_000, "ETHUSDT": 3_000}


@pytest.mark.parametrize(
    ("made", "change"),
    [
        (StampedDict, lambda d: d.__setitem__("a", 2)),
        (StampedDict, lambda d: d.__delitem__("k")),
        (StampedDict, lambda d: d.pop("k")),
        (StampedDict, lambda d: d.popitem()),
        (StampedDict, lambda d: d.clear()),
        (StampedDict, lambda d: d.update(b=1)),
        (StampedDict, lambda d: d.setdefault("new", 1)),
        (StampedDict, lambda d: d.__ior__({"c": 3})),
        (StampedSet, lambda s: s.add("a")),
        (StampedSet, lambda s: s.discard("k")),
        (StampedSet, lambda s: s.remove("k")),
        (StampedSet, lambda s: s.pop()),
        (StampedSet, lambda s: s.clear()),
        (StampedSet, lambda s: s.update({"b"})),
        (StampedSet, lambda s: s.difference_update({"k"})),
        (StampedSet, lambda s: s.intersection_update(set())),
        (StampedSet, lambda s: s.symmetric_difference_update({"z"})),
        (StampedSet, lambda s: s.__ior__({"c"})),
        (StampedSet, lambda s: s.__iand__(set())),
        (StampedSet, lambda s: s.__isub__({"k"})),
        (StampedSet, lambda s: s.__ixor__({"z"})),
    ],
)
def test_every_change_to_a_stamped_container_changes_its_version(made: type, change: Any) -> None:
    container = made({"k": 1}) if made is StampedDict else made({"k"})
    before = container.version
    change(container)
    assert container.version != before
    kept = container.version
    _ = container.get("k") if made is StampedDict else "k" in container  # a read changes nothing
    assert container.version == kept


def test_a_ledger_made_with_plain_containers_stamps_them_and_a_plain_one_put_later_fails_loudly() -> None:
    ledger = Ledger(1, leverage={"BTCUSDT": 5}, isolated={"BTCUSDT"})  # type: ignore[arg-type]
    assert type(ledger.leverage) is StampedDict and type(ledger.isolated) is StampedSet
    assert type(ledger.positions) is StampedDict
    assert Ledger(1, leverage=ledger.leverage).leverage is ledger.leverage  # stamped already: kept
    contracts = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept()).contracts
    assert ledger.figures("USDT", 10**12, contracts, lambda s: Fraction(60_000)).wallet == 10**12
    ledger.positions = {}  # type: ignore[assignment]  # unstamped: the figures cannot tell it changed
    with pytest.raises(AttributeError):
        ledger.figures("USDT", 10**12, contracts, lambda s: Fraction(60_000))


def test_a_position_only_read_is_not_made() -> None:
    """A reduce-only order's check and a MARKET order's cost read the position's amount;
    where none is held they read 0 and leave the positions as they were (``Ledger.amount``):
    a position made by a read moved the positions' version, and the next check worked the
    kept figures out again for nothing."""
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    ledger = engine.ledger(BOB)  # 10 USDT: a MARKET buy of a bitcoin costs more
    version = ledger.positions.version
    for params, code in (
        (order(side="SELL", quantity="0.001", price="60000", reduceOnly="true"), -2022),
        (order(type="MARKET", quantity="1", timeInForce=""), -2019),
    ):
        with pytest.raises(RequestRefused) as refused:
            new_order(engine, BOB, params, NOW)
        assert refused.value.code == code
    assert ("BTCUSDT", PositionSide.BOTH) not in ledger.positions
    assert ledger.positions.version == version
    assert ledger.amount("BTCUSDT") == 0


class _Deposits(Deposits):
    """The test engine's deposits, BOB's larger and ALICE with USDC too (Multi-Assets)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows[BOB] = [Balance(BOB, Market.UM, "USDT", parse_amount("3000"), 1)]
        self.rows[ALICE] = [*self.rows[ALICE], Balance(ALICE, Market.UM, "USDC", parse_amount("2000"), 1)]

    def move(self, account_id: int, asset: str, amount: int) -> bool:
        """The operator's deposit (or withdrawal: negative) of ``amount``, 1e-8: whether made.
        The balances handed out are never changed (``state.Deposits``): a new list replaces them."""
        rows = self.rows[account_id]
        for i, b in enumerate(rows):
            if b.asset == asset and b.amount + amount >= 0:
                moved = Balance(account_id, Market.UM, asset, b.amount + amount, b.update_ms + 1)
                self.rows[account_id] = [*rows[:i], moved, *rows[i + 1 :]]
                return True
        return False


_account = st.sampled_from(ACCOUNTS)
_symbol = st.sampled_from(SYMBOLS)
_side = st.sampled_from(("BUY", "SELL"))
_STEPS = st.one_of(
    st.tuples(st.just("limit"), _account, _symbol, _side, st.integers(-40, 40), st.integers(1, 5)),
    st.tuples(st.just("market"), _account, _side, st.integers(1, 4)),
    st.tuples(st.just("cancel"), _account, st.integers(0, 9)),
    st.tuples(st.just("amend"), _account, st.integers(0, 9), st.integers(-40, 40)),
    st.tuples(st.just("leverage"), _account, _symbol, st.integers(1, 60)),
    st.tuples(st.just("margin_type"), _account, _symbol, st.booleans()),
    st.tuples(st.just("mode"), _account, st.booleans()),
    st.tuples(st.just("multi_assets"), _account, st.booleans()),
    st.tuples(st.just("move_margin"), _account, _symbol, st.booleans(), st.integers(1, 300)),
    st.tuples(st.just("transfer"), _account, st.sampled_from(ASSETS), st.integers(-500, 500)),
    st.tuples(st.just("mark"), _symbol, st.integers(-3000, 3000), st.booleans()),
    st.tuples(st.just("funding"), st.integers(-30, 30)),
    st.tuples(st.just("trade"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("auto_exchange")),
)


def _price(symbol: str, ticks: int) -> str:
    return f"{_MIDS[symbol] + ticks * (10 if symbol == 'BTCUSDT' else 1)}.00"


def _apply(engine: Engine, book: Book, deposits: _Deposits, step: tuple[Any, ...], now: int) -> None:
    kind, *args = step
    if kind == "limit":
        account, symbol, side, ticks, lots = args
        hedged = engine.ledger(account).hedge
        held = {"positionSide": "LONG" if side == "BUY" else "SHORT"} if hedged else {}
        quantity = f"{lots / 100:.3f}" if symbol == "BTCUSDT" else f"{lots / 10:.3f}"
        new_order(engine, account, order(symbol=symbol, side=side, quantity=quantity, price=_price(symbol, ticks),
                                         **held), now)  # fmt: skip
    elif kind == "market":
        account, side, lots = args
        held = {"positionSide": "LONG" if side == "BUY" else "SHORT"} if engine.ledger(account).hedge else {}
        new_order(engine, account, order(side=side, type="MARKET", quantity=f"{lots / 100:.3f}", timeinforce="",
                                         **held), now)  # fmt: skip
    elif kind in ("cancel", "amend"):
        account, index = args[0], args[1]
        mine = engine.open_orders(account, None)
        if not mine:
            return
        chosen = mine[index % len(mine)]
        named = {"symbol": chosen.symbol, "orderid": str(chosen.order_id)}
        if kind == "cancel":
            cancel_order(engine, account, named, now)
        else:
            quantity = f"{chosen.orig_qty / 1000:.3f}"
            amend_order(engine, account, named | {"side": chosen.side.value, "quantity": quantity,
                                                  "price": _price(chosen.symbol, args[2])}, now)  # fmt: skip
    elif kind == "leverage":
        set_leverage(engine, args[0], args[1], args[2], now)
    elif kind == "margin_type":
        set_margin_type(engine, args[0], args[1], "ISOLATED" if args[2] else "CROSSED", now)
    elif kind == "mode":
        set_dual_side(engine, args[0], args[1])
    elif kind == "multi_assets":
        engine.apply(SetMultiAssets(args[0], args[1]), now)
    elif kind == "move_margin":
        account, symbol, add, amount = args
        side = next((s for (held, s), p in engine.ledger(account).positions.items() if held == symbol and p.amt),
                    PositionSide.BOTH)  # fmt: skip
        engine.apply(MoveMargin(account, symbol, side, add, amount * 10**6), now)
    elif kind == "transfer":
        account, asset, amount = args
        if deposits.move(account, asset, amount * 10**8):  # the keyring's, then the engine told of it
            engine.apply(Transfers(((account, asset, amount * 10**8),)), now)
    elif kind == "mark":
        symbol, moved, gone = args
        if gone and symbol == "ETHUSDT":
            book.marks.pop(symbol, None)  # no mark: the symbol counts nothing
        else:
            book.marks[symbol] = Fraction(_MIDS[symbol] * 100 + moved * (100 if symbol == "BTCUSDT" else 10), 100)
        stream = f"{symbol.lower()}@markState"  # the watch: margin calls and liquidations
        engine.apply(Marks(tuple([StreamMessage(stream, b"{}")])), now)
    elif kind == "funding":
        at = next_funding_ms(now) + FUNDING_INTERVAL_MS * (now // 1000 % 1000)  # a new funding time each step
        marked = book.marks["BTCUSDT"]  # two decimals: a float writes it exactly
        mark = f"{marked.numerator / marked.denominator:.8f}"
        funding = FundingEvent("BTCUSDT", at, f"{args[0] / 10_000:.8f}", mark, now)
        engine.apply(Marks(tuple([StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(funding))])), now)
    elif kind == "trade":  # the market trades at one of the resting orders' prices: it fills them
        resting = sorted(engine.resting("BTCUSDT"), key=lambda o: o.order_id)
        if not resting:
            return
        at = resting[args[0] % len(resting)].price
        trade = {"e": "aggTrade", "E": now, "a": now, "s": "BTCUSDT", "p": f"{at / 100:.2f}", "q": "0.020",
                 "nq": "0", "f": 1, "l": 1, "T": now, "m": args[1]}  # fmt: skip
        engine.apply(Trades(tuple([StreamMessage("btcusdt@aggTrade", msgspec.json.encode(trade))])), now)
    else:
        engine.apply(AutoExchange(), now)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_STEPS, min_size=20, max_size=60))
def test_the_figures_kept_between_checks_are_always_the_ones_worked_out_afresh(steps: list[tuple[Any, ...]]) -> None:
    book, deposits = Book(), _Deposits()
    book.marks["ETHUSDT"] = Fraction(_MIDS["ETHUSDT"])
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, deposits, Kept())
    now = NOW
    set_margin_type(engine, BOB, "BTCUSDT", "ISOLATED", now)  # BOB's fills there: isolated positions,
    set_leverage(engine, BOB, "BTCUSDT", 50, now)  # which a mark 2 % away liquidates
    for step in steps:
        now += 1_000
        with contextlib.suppress(RequestRefused):
            _apply(engine, book, deposits, step, now)
        engine.outbox.take()
        for account in ACCOUNTS:  # a check after each step: the next compares what was kept
            ledger = engine.ledger(account)
            for asset in ASSETS:
                deposited = engine.deposited(account, asset)
                # a margin check's read first (the kept integers, ``Ledger.room``), then the figures'
                rooms = [ledger.room(asset, deposited, engine.contracts, engine.mark, i) for i in (False, True)]
                kept = engine.figures(account, asset)
                fresh = fresh_ledger(ledger).figures(asset, deposited, engine.contracts, engine.mark)
                assert kept == fresh, (step, account, asset)
                assert rooms == [margin_room(fresh, False), margin_room(fresh, True)], (step, account, asset)
