# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""The ADL queue's quantiles without sockets (``venue/risk/adl.py``): Binance's LeveragePnL by
hand, the ranking per symbol and side of the book, the shapes of one-way, hedge cross and
hedge isolated positions, the 30-second window, and positionRisk's ``adl``."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import pytest
from test_engine import ALICE, BOB, NOW, Book, Kept, book, journal, order  # noqa: F401

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.risk.adl import ADL_WINDOW_MS, adl_quantile, leverage_pnl, quantile
from tickerplant.venue.wire.account_payloads import position_risk
from tickerplant.venue.wire.order_entry import new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_margin_type, set_multi_assets

CAROL, DAVE = 3, 4
FUNDS = {ALICE: "10000", BOB: "10", CAROL: "1000", DAVE: "50"}
ERIN = 5  # 1 BTC in her USDⓈ-M wallet, no USDT: collateral in Multi-Assets mode


class Deposits:
    def balances(self, account_id: int) -> list[Balance]:
        if account_id == ERIN:
            return [Balance(ERIN, Market.UM, "BTC", parse_amount("1"), 1)]
        found = FUNDS.get(account_id)
        return [Balance(account_id, Market.UM, "USDT", parse_amount(found), 1)] if found else []


@pytest.fixture
def engine(book: Book, journal: Kept) -> Engine:
    return Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)


def reads(account: int, **params: str) -> Any:
    return SimpleNamespace(account=SimpleNamespace(account_id=account), params=params)


def buy(engine: Engine, account: int, qty: str, **more: str) -> None:
    new_order(engine, account, order(type="MARKET", quantity=qty, timeinforce="", **more), NOW)


def test_leverage_pnl_is_binances_formula_by_hand() -> None:
    # Alice below: wallet 9 985 (15 commission), 0.5 BTC long from 60 000, mark 61 000:
    # uPnL 500, maintenance 30 500 × 0.004 = 122, margin balance 10 485
    value = leverage_pnl(Fraction(500), Fraction(9985), Fraction(122), Fraction(10485))
    assert value == Fraction(500, 9985) * Fraction(122, 10485)
    assert leverage_pnl(Fraction(-5), Fraction(100), Fraction(1), Fraction(95)) == 0  # no profit: last
    assert leverage_pnl(Fraction(5), Fraction(-50), Fraction(1), Fraction(-45)) == 0  # balance not above 0
    assert leverage_pnl(Fraction(1), Fraction(1, 2), Fraction(1), Fraction(3, 2)) == Fraction(2, 3)  # max(1, wallet)
    assert [quantile(Fraction(1), rank, 5) for rank in range(1, 6)] == [0, 1, 2, 3, 4]
    assert [quantile(Fraction(1), rank, 3) for rank in range(1, 4)] == [1, 3, 4]
    assert quantile(Fraction(1), 1, 1) == 4 and quantile(Fraction(0), 1, 1) == 0


def test_longs_are_ranked_together_by_leverage_pnl_and_a_losing_short_is_last(
    engine: Engine, book: Book
) -> None:
    buy(engine, ALICE, "0.500")  # LeveragePnL at 61 000: 500/9985 × 122/10485 ≈ 0.00058
    buy(engine, CAROL, "0.100")  # 100/997 × 24.4/1097 ≈ 0.00223
    buy(engine, DAVE, "0.010")  # 10/49.7 × 2.44/59.7 ≈ 0.00822
    new_order(engine, BOB, order(side="SELL", quantity="0.001", price="59999"), NOW)  # a short
    book.marks["BTCUSDT"] = Fraction(61000)
    at = NOW + 1
    shown = {a: adl_quantile(engine, reads(a), at) for a in (ALICE, BOB, CAROL, DAVE)}
    assert shown[ALICE] == [{"symbol": "BTCUSDT", "adlQuantile": {"LONG": 0, "SHORT": 0, "BOTH": 1}}]
    assert shown[CAROL][0]["adlQuantile"]["BOTH"] == 3 and shown[DAVE][0]["adlQuantile"]["BOTH"] == 4
    assert shown[BOB][0]["adlQuantile"] == {"LONG": 0, "SHORT": 0, "BOTH": 0}  # losing at 61 000
    assert list(shown[ALICE][0]["adlQuantile"]) == ["LONG", "SHORT", "BOTH"]
    (risk,) = position_risk(engine, DAVE, "BTCUSDT", v3=True, now_ms=at)
    assert risk["adl"] == 4
    (v2,) = position_risk(engine, DAVE, "BTCUSDT", v3=False, now_ms=at)
    assert v2["adlQuantile"] == 4
    # "values update every 30 s": the mark falls, the window's ranking stays until the next
    book.marks["BTCUSDT"] = Fraction(59000)
    assert adl_quantile(engine, reads(DAVE), at + 5)[0]["adlQuantile"]["BOTH"] == 4
    later = at - at % ADL_WINDOW_MS + ADL_WINDOW_MS
    assert adl_quantile(engine, reads(DAVE), later)[0]["adlQuantile"]["BOTH"] == 0  # longs now lose
    assert adl_quantile(engine, reads(BOB), later)[0]["adlQuantile"]["BOTH"] == 4  # the one short profits
    assert position_risk(engine, BOB, "BTCUSDT", v3=True)[0]["adl"] == 4  # the operator's read: the last made


def test_symbols_listed_are_those_held_and_symbol_narrows_them(engine: Engine, book: Book) -> None:
    assert adl_quantile(engine, reads(ALICE), NOW) == []
    buy(engine, ALICE, "0.500")
    assert [r["symbol"] for r in adl_quantile(engine, reads(ALICE, symbol="btcusdt"), NOW)] == ["BTCUSDT"]
    assert adl_quantile(engine, reads(ALICE, symbol="ETHUSDT"), NOW) == []
    with pytest.raises(RequestRefused) as caught:
        adl_quantile(engine, reads(ALICE, symbol="NOPE"), NOW)
    assert caught.value.code == -1121


def test_hedge_cross_shows_one_value_for_both_sides_under_hedge_and_isolated_its_own(
    engine: Engine, book: Book
) -> None:
    set_dual_side(engine, ALICE, True)
    set_dual_side(engine, CAROL, True)
    set_margin_type(engine, CAROL, "BTCUSDT", "ISOLATED")
    buy(engine, ALICE, "0.500", positionSide="LONG")
    new_order(engine, ALICE, order(side="SELL", type="MARKET", quantity="0.100", timeinforce="", positionSide="SHORT"), NOW)
    buy(engine, CAROL, "0.100", positionSide="LONG")
    book.marks["BTCUSDT"] = Fraction(61000)
    # Alice: 500 − 100 of uPnL together, ranked with the longs (the larger side); Carol's
    # isolated long alone beside it
    alice = adl_quantile(engine, reads(ALICE), NOW)[0]["adlQuantile"]
    assert list(alice) == ["LONG", "SHORT", "HEDGE"] and alice["LONG"] == alice["SHORT"] > 0
    carol = adl_quantile(engine, reads(CAROL), NOW)[0]["adlQuantile"]
    assert list(carol) == ["LONG", "SHORT", "BOTH"] and carol["LONG"] > 0 and carol["SHORT"] == carol["BOTH"] == 0
    assert {carol["LONG"], alice["LONG"]} == {2, 4}  # two longs: ranks 1 and 2 of 2
    # a cross hedge account holding one side alone: its value under both keys (part 2 §6.10)
    set_dual_side(engine, DAVE, True)
    buy(engine, DAVE, "0.010", positionSide="LONG")
    book.marks["BTCUSDT"] = Fraction(61500)
    later = NOW + ADL_WINDOW_MS
    dave = adl_quantile(engine, reads(DAVE), later)[0]["adlQuantile"]
    assert list(dave) == ["LONG", "SHORT", "HEDGE"] and dave["LONG"] == dave["SHORT"] > 0, dave


def test_multi_assets_positions_are_ranked_on_the_pool_their_liquidation_reads(
    engine: Engine, book: Book
) -> None:
    set_multi_assets(engine, ERIN, True)
    buy(engine, ERIN, "0.500")  # her USDT wallet −15 (the fee), backed by 1 BTC
    buy(engine, CAROL, "0.100")
    book.marks["BTCUSDT"] = Fraction(61000)
    # Erin's pool: 1 BTC × 61 000 × 0.95 − 15 = 57 935 USD; 500/57 935 × 122/58 435 ≈ 1.8e-5,
    # under Carol's ≈ 0.00223 (on her USDT wallet alone, −15, it would rank first)
    pool = engine.margin_figures(engine.ledger(ERIN), "USDT")
    assert pool.cross_wallet == 57_935 * 10**8
    erin = adl_quantile(engine, reads(ERIN), NOW)[0]["adlQuantile"]["BOTH"]
    carol = adl_quantile(engine, reads(CAROL), NOW)[0]["adlQuantile"]["BOTH"]
    assert (erin, carol) == (2, 4)
