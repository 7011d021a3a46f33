"""A margin asset's figures kept as running sums of each symbol's part (``ledger/
kept_figures.py``) are, after every kind of change, exactly the figures a ledger made anew
works out: placements, cancels, a taker's fills, the market filling resting orders,
modifications, leverage, margin type, the marks moving, a symbol's mark missing."""

from __future__ import annotations

import contextlib
import random
from fractions import Fraction

import pytest
from test_engine import ALICE, Book, Deposits, Kept, order
from test_open_order_margin import fresh_ledger, trade_through

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.ledger.kept_figures import AssetTotals
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_leverage, set_margin_type

NOW = 1_790_000_000_000
_PRICES = {"BTCUSDT": (59_000, 61_000), "ETHUSDT": (2_900, 3_100)}


def test_the_totals_move_by_what_changed_and_drop_what_left() -> None:
    totals = AssetTotals()
    one, two = Fraction(1, 3), Fraction(2, 3)
    totals.put("A", Fraction(5), 1, (one, 0, one, 0, 0, 0, 0))  # type: ignore[arg-type]
    totals.put("B", Fraction(7), 1, (two, 0, two, 0, 0, 0, 0))  # type: ignore[arg-type]
    assert totals.sums[0] == 1 and totals.sums[2] == 1  # exact: not 0.9999…
    assert totals.fresh("A", Fraction(5), 1) and not totals.fresh("A", Fraction(6), 1)
    assert not totals.fresh("A", Fraction(5), 2) and not totals.fresh("C", Fraction(5), 1)
    totals.put("A", Fraction(6), 1, (two, 0, 0, 0, 0, 0, 0))  # type: ignore[arg-type]
    assert totals.sums[0] == Fraction(4, 3) and totals.sums[2] == two
    totals.keep_only({"A"})
    assert totals.sums[0] == two and totals.sums[2] == 0


@pytest.mark.parametrize("hedge", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_the_kept_figures_are_always_the_ones_worked_out_afresh(seed: int, hedge: bool) -> None:
    rng = random.Random(seed)
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())
    now = NOW
    if hedge:
        set_dual_side(engine, ALICE, True)
    checked = 0
    for _ in range(400):
        now += 100
        roll = rng.random()
        symbol = rng.choice(("BTCUSDT", "BTCUSDT", "ETHUSDT"))
        low, high = _PRICES[symbol]
        price = f"{rng.randrange(low, high)}.{rng.randrange(10)}0"
        side = rng.choice(("BUY", "SELL"))
        opening = {"positionSide": "LONG" if side == "BUY" else "SHORT"} if hedge else {}
        with contextlib.suppress(RequestRefused):
            if roll < 0.3:
                quantity = "0.050" if symbol == "BTCUSDT" else "0.500"
                new_order(engine, ALICE, order(symbol=symbol, side=side, quantity=quantity, price=price, **opening), now)
            elif roll < 0.4:
                new_order(engine, ALICE, order(side=side, type="MARKET", quantity="0.020", timeinforce="", **opening), now)
            elif roll < 0.55 and (mine := engine.open_orders(ALICE, None)):
                chosen = rng.choice(mine)
                if rng.random() < 0.5:
                    cancel_order(engine, ALICE, {"symbol": chosen.symbol, "orderid": str(chosen.order_id)}, now)
                else:
                    low, high = _PRICES[chosen.symbol]
                    moved = f"{rng.randrange(low, high)}.{rng.randrange(10)}0"
                    amend_order(engine, ALICE, {"symbol": chosen.symbol, "orderid": str(chosen.order_id),
                                                "side": chosen.side.value, "quantity": f"{chosen.orig_qty / 1000:.3f}",
                                                "price": moved}, now)  # fmt: skip
            elif roll < 0.62:
                set_leverage(engine, ALICE, symbol, rng.randrange(1, 50), now)
            elif roll < 0.67:
                set_margin_type(engine, ALICE, symbol, rng.choice(("ISOLATED", "CROSSED")), now)
            elif roll < 0.82:
                if symbol == "ETHUSDT" and rng.random() < 0.2:
                    book.marks.pop("ETHUSDT", None)  # no mark: the symbol counts nothing
                else:
                    book.marks[symbol] = Fraction(rng.randrange(low * 100, high * 100), 100)
            else:  # the market trades at or through a resting order's price: it fills
                trade_through(engine, rng, price, now)
        engine.outbox.take()
        ledger = engine.ledger(ALICE)
        kept = engine.figures(ALICE, "USDT")
        fresh = fresh_ledger(ledger).figures("USDT", engine.deposited(ALICE, "USDT"), engine.contracts, engine.mark)
        assert kept == fresh
        checked += bool(kept.position_im) + bool(kept.open_order_im)
    assert checked > 200  # the session held positions and orders most of the time
