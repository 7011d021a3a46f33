"""The account figures in integers (``ledger/figures.py``): each position's figures are its
exact ones rounded once at 8 decimals (uPnL and notional toward zero, part 3 §4.3; margins
down, §10, Unresolved 13), an asset's totals their sums, ``available`` and ``max_withdraw``
§7.8's formulas on those integers; the account answer's totals add up to its rows to the
unit; worked example B's position row as part 3 §7.13 writes it."""

from __future__ import annotations

import contextlib
import math
import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from test_engine import ALICE, Book, Deposits, Kept, order

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.accounts import Account, Balance
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.contract import toward_zero
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.account_payloads import account
from tickerplant.venue.wire.order_entry import new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_leverage

NOW = 1_790_000_000_000
_PRICES = {"BTCUSDT": (59_000, 61_000), "ETHUSDT": (2_900, 3_100)}


def _rows(engine: Engine) -> list[tuple[int, int, int]]:
    """Each of ALICE's positions' (uPnL, IM, MM) by the definitions, exact, then rounded."""
    ledger = engine.ledger(ALICE)
    rows = []
    for (symbol, _), position in ledger.positions.items():
        mark = engine.mark(symbol)
        if not position.amt or mark is None:
            continue
        contract = engine.contracts[symbol]
        notional = contract.qty(position.amt) * mark
        upnl = contract.qty(position.amt) * (mark - position.entry)
        im = abs(notional) / ledger.leverage_of(contract)
        rows.append((toward_zero(upnl), math.floor(im * 10**8), math.floor(contract.maintenance(notional) * 10**8)))
    return rows


@pytest.mark.parametrize("hedge", [False, True])
@pytest.mark.parametrize("seed", range(2))
def test_the_figures_are_the_rows_rounded_and_their_sums(seed: int, hedge: bool) -> None:
    rng = random.Random(seed)
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())
    if hedge:
        set_dual_side(engine, ALICE, True)
    who = Account(ALICE, "alice", "a", False, NOW)
    now, off_grid = NOW, 0
    for _ in range(60):
        now += 100
        symbol = rng.choice(("BTCUSDT", "ETHUSDT"))
        side = rng.choice(("BUY", "SELL"))
        opening = {"positionSide": "LONG" if side == "BUY" else "SHORT"} if hedge else {}
        low, high = _PRICES[symbol]
        roll = rng.random()
        with contextlib.suppress(RequestRefused):
            if roll < 0.35:
                price = f"{rng.randrange(low, high)}.{rng.randrange(10)}0"
                quantity = "0.050" if symbol == "BTCUSDT" else "0.500"
                new_order(engine, ALICE, order(symbol=symbol, side=side, quantity=quantity, price=price, **opening), now)
            elif roll < 0.55:  # fills at the book's fixed BTCUSDT levels
                new_order(engine, ALICE, order(side=side, type="MARKET", quantity="0.020", timeinforce="", **opening), now)
            elif roll < 0.65:
                set_leverage(engine, ALICE, symbol, rng.randrange(1, 50), now)
            else:  # a mark off the 8-decimal grid (a seventh): figures that need rounding
                book.marks[symbol] = Fraction(rng.randrange(low * 700, high * 700), 700)
        engine.outbox.take()
        f = engine.figures(ALICE, "USDT")
        rows = _rows(engine)
        assert (f.unrealized_e8, f.position_im_e8, f.maint_e8) == tuple(sum(r[i] for r in rows) for i in range(3))
        ledger = engine.ledger(ALICE)
        ooim = sum(ledger.open_order_im(engine.contracts[s], m) for s in ledger.open_orders if (m := engine.mark(s)))
        assert f.open_order_im_e8 == ooim
        free = f.wallet + f.unrealized_e8 - f.position_im_e8 - ooim
        assert f.available_e8 == max(0, free)
        assert f.max_withdraw_e8 == max(0, min(f.available_e8, f.wallet - f.position_im_e8 - ooim))
        answer = account(engine, who, Deposits().balances(ALICE), [], v2=False)
        _adds_up(answer, {s for s in engine.instruments if engine.mark(s) is not None})
        off_grid += any(r[1] % 10**6 for r in rows)  # a margin with digits past the 2nd decimal
    assert off_grid > 10


def _adds_up(answer: dict[str, Any], marked: set[str]) -> None:
    """The v3 account answer's totals are its positions' rows summed, to the unit (the rows of
    the symbols with a mark: a symbol without one counts nothing in the totals)."""
    rows = [r for r in answer["positions"] if r["symbol"] in marked]
    for total, field in (("totalUnrealizedProfit", "unrealizedProfit"), ("totalInitialMargin", "initialMargin"),
                         ("totalMaintMargin", "maintMargin")):  # fmt: skip
        assert Decimal(answer[total]) == sum((Decimal(r[field]) for r in rows), Decimal(0)), total
    wallet, upnl = Decimal(answer["totalWalletBalance"]), Decimal(answer["totalUnrealizedProfit"])
    assert Decimal(answer["totalMarginBalance"]) == wallet + upnl


def test_worked_example_b_s_figures_are_written_as_part_3_writes_them() -> None:
    """§7.13: 100 BTCUSD_PERP (CS 100 USD) bought at 50 000, leverage 20, mark 52 000."""

    class CoinBook(Book):
        def levels(self, symbol: str, bids: bool) -> Any:
            ask = 50_000 * 10 ** catalogue(Market.CM, NOW)[0].price_decimals
            return iter([] if bids else [(ask, 1000)]) if symbol == "BTCUSD_PERP" else iter(())

        def mark(self, symbol: str) -> Fraction | None:
            return self.marks.get(symbol)

    book = CoinBook()
    book.marks = {"BTCUSD_PERP": Fraction(50000)}
    deposits = Deposits()
    deposits.rows[ALICE] = [Balance(ALICE, Market.CM, "BTC", parse_amount("1"), 1)]
    engine = Engine(Market.CM, catalogue(Market.CM, NOW), book, deposits, Kept())
    new_order(engine, ALICE, {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "MARKET", "quantity": "100"}, NOW)
    book.marks["BTCUSD_PERP"] = Fraction(52000)
    who = Account(ALICE, "alice", "a", False, NOW)
    answer = account(engine, who, deposits.balances(ALICE), ["BTC"], v2=False)
    row = next(r for r in answer["positions"] if r["symbol"] == "BTCUSD_PERP")
    assert (row["notionalValue"], row["positionInitialMargin"]) == ("0.19230769", "0.00961538")
    assert (row["unrealizedProfit"], row["maintMargin"]) == ("0.00769230", "0.00076923")
    btc = next(r for r in answer["assets"] if r["asset"] == "BTC")
    assert (btc["walletBalance"], btc["marginBalance"]) == ("0.99990000", "1.00759230")
    # §7.13 writes 1.00759231: 0.9999 + the exact uPnL (0.0076923076…) rounded to nearest; the row's
    # written uPnL (toward zero, §4.3) plus the wallet is 1.00759230, the unit the rows add up to
    assert btc["availableBalance"] == "0.99797692"  # 0.9999 + 0.00769230 − 0.00961538
