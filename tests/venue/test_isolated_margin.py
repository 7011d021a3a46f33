# ruff: noqa: F811  (test_engine's fixtures are parameters here)

"""Isolated margin without sockets (part 3 §4.8, §7.8–§7.11): worked example A's trade
(10 000 USDT, 0.5 BTC bought at 60 000 as taker, 20x) margined ISOLATED, by hand:

- the isolated wallet on opening: initial margin 30 000 / 20 = 1 500, open loss 0 (bought
  at the mark), less the 15 commission: 1 485; the cross wallet 9 985 − 1 485 = 8 500;
- liquidation price (§7.10, WB = the isolated wallet, no other position):
  (1 485 − 30 000) / (0.5 × 0.004 − 0.5) = 57 259.03…; bankruptcy price 60 000 − 1 485 / 0.5
  = 57 030.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest
from test_engine import ALICE, NOW, Book, Deposits, Kept, book, journal, order, refusal  # noqa: F401
from test_funding_liquidation import CoinBook, events, funding, mark_to, reads, wallet
from test_journal import from_old_journal

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.clearing.liquidation import liquidation_price
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Marks
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.account_payloads import account, balance, position_risk
from tickerplant.venue.wire.margin_routes import margin_history, move_margin
from tickerplant.venue.wire.order_entry import new_order
from tickerplant.venue.wire.settings_routes import set_leverage, set_margin_type


@pytest.fixture
def engine(book: Book, journal: Kept) -> Engine:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED")
    return engine


def isolated_long(engine: Engine) -> None:
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500", timeinforce=""), NOW)


def iw(engine: Engine) -> Fraction:
    return Fraction(engine.ledger(ALICE).position("BTCUSDT").isolated_wallet, 10**8)


def move(engine: Engine, now_ms: int = NOW + 1, **params: str) -> Any:
    return move_margin(engine, reads(ALICE, symbol="BTCUSDT", **params), now_ms)  # type: ignore[arg-type]


def test_opening_moves_initial_margin_less_commission_into_the_isolated_wallet(engine: Engine) -> None:
    isolated_long(engine)
    assert iw(engine) == 1485 and wallet(engine, ALICE) == 9985
    f = engine.figures(ALICE, "USDT")
    assert Fraction(f.cross_wallet, 10**8) == 8500 and f.available == 8500 and f.max_withdraw == 8500
    (row,) = position_risk(engine, ALICE, "BTCUSDT", v3=False)
    assert (row["marginType"], row["isolated"], row["isolatedWallet"], row["isolatedMargin"]) == (
        "isolated", True, "1485.00000000", "1485.00000000")  # fmt: skip
    assert liquidation_price(engine, engine.ledger(ALICE), "BTCUSDT") == Fraction(1485 - 30000) / Fraction("-0.498")
    assert row["liquidationPrice"] == "57259.03614457"
    (v3,) = position_risk(engine, ALICE, "BTCUSDT", v3=True)
    assert (v3["isolatedWallet"], v3["isolatedMargin"]) == ("1485.00000000", "1485.00000000")
    who: Any = type("Who", (), {"account_id": ALICE, "alias": "a"})
    rows = engine._deposits.balances(ALICE)  # type: ignore[attr-defined]
    (usdt,) = [b for b in balance(engine, who, rows, ()) if b.asset == "USDT"]
    assert (usdt.balance, usdt.cross_wallet_balance, usdt.available_balance) == (
        "9985.00000000", "8500.00000000", "8500.00000000")  # fmt: skip
    body = account(engine, who, rows, (), v2=False)
    assert (body["totalWalletBalance"], body["totalCrossWalletBalance"]) == ("9985.00000000", "8500.00000000")
    # the fill's ACCOUNT_UPDATE: the position isolated, its wallet in iw, cw the cross wallet
    changed, update = [p for _, e, p in events(engine) if e == "ACCOUNT_UPDATE"]
    # the margin type's change first (part 4 §4.3 item 6): the symbol's flat position, isolated
    assert changed["a"]["m"] == "MARGIN_TYPE_CHANGE" and changed["a"]["B"] == []  # no balance moved
    assert (changed["a"]["P"][0]["pa"], changed["a"]["P"][0]["mt"], changed["a"]["P"][0]["iw"]) == (
        "0", "isolated", "0.00000000")  # fmt: skip
    assert update["a"]["B"] == [{"a": "USDT", "wb": "9985.00000000", "cw": "8500.00000000", "bc": "0"}]
    assert (update["a"]["P"][0]["mt"], update["a"]["P"][0]["iw"]) == ("isolated", "1485.00000000")


def test_a_rows_zeros_are_written_as_binance_writes_them(engine: Engine) -> None:
    """Part 3 §4.3: the 2026 capture's flat isolated v2 row has ``"notional":"0"`` and
    ``"isolatedWallet":"0"`` beside ``"unRealizedProfit":"0.00000000"`` and
    ``"isolatedMargin":"0.00000000"``; the v3 example's position without open orders
    ``"openOrderInitialMargin":"0"``, ``"bidNotional":"0"``, ``"askNotional":"0"``; the asset
    totals keep their 8 zeros."""
    (flat,) = position_risk(engine, ALICE, "BTCUSDT", v3=False)
    shown = {k: flat[k] for k in ("unRealizedProfit", "isolatedMargin", "notional", "isolatedWallet")}
    assert shown == {"unRealizedProfit": "0.00000000", "isolatedMargin": "0.00000000", "notional": "0",
                     "isolatedWallet": "0"}  # fmt: skip
    isolated_long(engine)
    (held,) = position_risk(engine, ALICE, "BTCUSDT", v3=True)
    assert (held["openOrderInitialMargin"], held["bidNotional"], held["askNotional"]) == ("0", "0", "0")
    assert held["notional"] != "0" and held["positionInitialMargin"] == held["initialMargin"] != "0"
    who: Any = type("Who", (), {"account_id": ALICE, "alias": "a"})
    body = account(engine, who, engine._deposits.balances(ALICE), (), v2=True)  # type: ignore[attr-defined]
    assert body["totalOpenOrderInitialMargin"] == "0.00000000"
    eth = next(row for row in body["positions"] if row["symbol"] == "ETHUSDT")  # untouched: v2 lists them all
    assert {eth[k] for k in ("initialMargin", "maintMargin", "openOrderInitialMargin", "bidNotional")} == {"0"}


def test_a_reduction_releases_its_share_and_a_close_all_of_the_wallet(engine: Engine, book: Book) -> None:
    isolated_long(engine)
    new_order(engine, ALICE, order(side="SELL", type="MARKET", quantity="0.250", timeinforce=""), NOW + 1)
    # at 59 999: realized −0.25, commission 7.499875 into the wallet (1 477.250125); half the
    # position's equity at the fill (1 485 − 0.5 = 1 484.5) released: 735.000125 stays
    assert iw(engine) == Fraction("735.000125")
    assert wallet(engine, ALICE) == Fraction("9985") - Fraction("0.25") - Fraction("7.499875")
    new_order(engine, ALICE, order(side="SELL", type="MARKET", quantity="0.250", timeinforce=""), NOW + 2)
    assert iw(engine) == 0
    f = engine.figures(ALICE, "USDT")
    assert f.cross_wallet == f.wallet and f.available == Fraction(f.wallet, 10**8)


def test_funding_is_paid_from_the_isolated_wallet(engine: Engine) -> None:
    isolated_long(engine)
    engine.outbox.take()
    at = NOW + 3_600_000
    engine.apply(Marks(tuple([funding(at, "0.00010000", "61000.00000000")])), at + 5)
    assert iw(engine) == Fraction("1481.95") and wallet(engine, ALICE) == Fraction("9981.95")
    ((_, _, update),) = events(engine)
    a = update["a"]
    assert a["B"] == [{"a": "USDT", "wb": "9981.95000000", "cw": "8500.00000000", "bc": "-3.05"}]
    assert (a["P"][0]["s"], a["P"][0]["pa"], a["P"][0]["mt"], a["P"][0]["iw"]) == (
        "BTCUSDT", "0.5", "isolated", "1481.95000000")  # fmt: skip
    assert list(a) == ["B", "P", "m", "S"]


def test_position_margin_adds_and_takes_within_bounds(engine: Engine, journal: Kept) -> None:
    assert refusal(move, engine, amount="10", type="1") == (-4054, "Cannot add position margin: position is 0.")
    isolated_long(engine)
    engine.outbox.take()
    answer = msgspec.json.encode(move(engine, amount="100", type="1"))
    assert answer == b'{"amount":100.0,"code":200,"msg":"Successfully modify position margin.","type":1}'
    assert msgspec.json.decode(answer) == {
        "amount": 100.0, "code": 200, "msg": "Successfully modify position margin.", "type": 1}  # fmt: skip
    assert iw(engine) == 1585 and engine.figures(ALICE, "USDT").available == 8400
    assert journal.batches[-1].positions[0][2].isolated_wallet == 158_500_000_000
    ((_, _, update),) = events(engine)
    assert update["a"]["m"] == "MARGIN_TRANSFER"
    assert update["a"]["B"] == [{"a": "USDT", "wb": "9985.00000000", "cw": "8400.00000000", "bc": "0"}]
    # at most what keeps the isolated margin at its initial margin (1 500 at mark 60 000)
    assert refusal(move, engine, amount="85.00000001", type="2") == (-4051, "Isolated balance insufficient.")
    move(engine, NOW + 2, amount="85", type="2")
    assert iw(engine) == 1500
    assert refusal(move, engine, amount="8500.00000001", type="1") == (-4050, "Cross balance insufficient.")
    assert refusal(move, engine, amount="0", type="1") == (-4055, "Amount must be positive.")
    assert refusal(move, engine, amount="1", type="3")[0] == -1130
    assert refusal(move, engine, amount="1", type="1", positionside="LONG") == (-4060, "Invalid position side.")
    assert refusal(move, engine, amount="0.000000001", type="1")[0] == -1111
    rows = margin_history(engine, reads(ALICE, symbol="BTCUSDT"), NOW + 3)  # type: ignore[arg-type]
    assert rows == [
        # the opening fill brought its initial margin, 1 500 (the fee, 15, is the wallet's own)
        {"symbol": "BTCUSDT", "type": 1, "deltaType": "TRADE", "amount": "1500.00000000", "asset": "USDT",
         "time": NOW, "positionSide": "BOTH"},
        {"symbol": "BTCUSDT", "type": 1, "deltaType": "USER_ADJUST", "amount": "100.00000000", "asset": "USDT",
         "time": NOW + 1, "positionSide": "BOTH"},
        {"symbol": "BTCUSDT", "type": 2, "deltaType": "USER_ADJUST", "amount": "85.00000000", "asset": "USDT",
         "time": NOW + 2, "positionSide": "BOTH"},
    ]  # fmt: skip
    only = margin_history(engine, reads(ALICE, symbol="BTCUSDT", type="2"), NOW + 3)  # type: ignore[arg-type]
    assert [r["amount"] for r in only] == ["85.00000000"]
    crossed = reads(ALICE, symbol="ETHUSDT", amount="1", type="1")
    assert refusal(move_margin, engine, crossed, NOW)[0] == -4049
    # a reduction's release and a close's return are TRADE rows of type 2
    new_order(engine, ALICE, order(side="SELL", type="MARKET", quantity="0.500", timeinforce=""), NOW + 4)
    last = margin_history(engine, reads(ALICE, symbol="BTCUSDT"), NOW + 5)[-1]  # type: ignore[arg-type]
    assert (last["deltaType"], last["type"], last["time"]) == ("TRADE", 2, NOW + 4)
    assert Fraction(last["amount"]) == 1500 - Fraction("0.5") - Fraction("14.99975")  # all it held


def test_an_isolated_liquidation_costs_no_more_than_the_isolated_wallet(
    engine: Engine, book: Book, journal: Kept
) -> None:
    isolated_long(engine)
    book.bids = [(5_000_000, 5000)]  # 50 000: below the bankruptcy price, the book takes none
    engine.outbox.take()
    # margin call at MM ≥ 80 % of (1 485 + 0.5 (P − 60 000)): P ≤ 57 316.58
    mark_to(engine, book, "57300", NOW + 1)
    ((_, kind, call),) = events(engine)
    assert kind == "MARGIN_CALL" and "cw" not in call
    assert call["p"] == [{"s": "BTCUSDT", "ps": "BOTH", "pa": "0.5", "mt": "ISOLATED", "iw": "1485.00000000",
                          "mp": "57300", "up": "-1350", "mm": "114.6"}]  # fmt: skip
    assert liquidation_price(engine, engine.ledger(ALICE), "BTCUSDT") > 57259
    mark_to(engine, book, "57250", NOW + 2)
    got = events(engine)
    fills = [p["o"] for _, e, p in got if e == "ORDER_TRADE_UPDATE" and p["o"]["x"] == "CALCULATED"]
    # the fill at the bankruptcy price loses the 1 485 the isolated wallet held: nothing is
    # left for its 14.2575 commission, so it pays none (the insurance fund pays no fee),
    # and there is no clearance fee to take
    assert [(f["L"], f["l"], f["X"], f["rp"], f["n"]) for f in fills] == [
        ("57030", "0.5", "FILLED", "-1485.00000000", "0")]  # fmt: skip
    (update,) = [p["a"] for _, e, p in got if e == "ACCOUNT_UPDATE"]
    assert update["m"] == "ORDER" and update["B"] == [{"a": "USDT", "wb": "8500.00000000", "cw": "8500.00000000",
                                                       "bc": "0"}]  # fmt: skip
    assert update["P"][0]["iw"] == "0.00000000"
    assert wallet(engine, ALICE) == 8500 and iw(engine) == 0
    assert not journal.batches[-1].incomes


def test_a_cross_position_is_not_liquidated_by_an_isolated_loss(book: Book) -> None:
    deposits = Deposits()
    deposits.rows[ALICE] = [Balance(ALICE, Market.UM, "USDT", parse_amount("1600"), 1)]
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, deposits, Kept())
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED")
    isolated_long(engine)  # 1 485 isolated: 100 cross wallet left, 1 600 − 15 − 1 485
    assert Fraction(engine.figures(ALICE, "USDT").cross_wallet, 10**8) == 100
    engine.outbox.take()
    mark_to(engine, book, "57400", NOW + 1)  # a loss of 1 300: the isolated margin holds it
    assert events(engine) == [] and engine.ledger(ALICE).position("BTCUSDT").amt == 500


def test_lowering_leverage_with_an_isolated_position_is_refused(engine: Engine) -> None:
    isolated_long(engine)
    text = "Leverage reduction is not supported in Isolated Margin Mode with open positions"
    assert refusal(set_leverage, engine, ALICE, "BTCUSDT", 10) == (-4161, text)
    set_leverage(engine, ALICE, "BTCUSDT", 25)  # raising it is allowed
    coin = Engine(Market.CM, catalogue(Market.CM, NOW), Book(), Deposits(), Kept())
    coin.ledger(ALICE).isolated.add("BTCUSD_PERP")
    coin.ledger(ALICE).position("BTCUSD_PERP").amt = 1
    assert refusal(set_leverage, coin, ALICE, "BTCUSD_PERP", 10) == (-4150, text + ".")


def test_coin_m_isolated_wallet_and_liquidation_price_in_the_coin() -> None:
    # 100 BTCUSD_PERP contracts (CS 100 USD) bought at 50 000, 20x: initial margin 0.2 / 20 =
    # 0.01 BTC, commission 0.2 × 0.0005 = 0.0001: the isolated wallet 0.0099 BTC
    deposits = Deposits()
    deposits.rows[ALICE] = [Balance(ALICE, Market.CM, "BTC", parse_amount("1"), 1)]
    engine = Engine(Market.CM, catalogue(Market.CM, NOW), CoinBook(bid=49_000), deposits, Kept())
    set_margin_type(engine, ALICE, "BTCUSD_PERP", "ISOLATED")
    # flat, as part 3 §4.3's COIN-M example writes it
    (flat,) = [r for r in position_risk(engine, ALICE, None, v3=False) if r["symbol"] == "BTCUSD_PERP"]
    shown = {k: flat[k] for k in ("entryPrice", "breakEvenPrice", "notionalValue", "isolatedWallet", "isolatedMargin")}
    assert shown == {"entryPrice": "0.00000000", "breakEvenPrice": "0.00000000", "notionalValue": "0",
                     "isolatedWallet": "0", "isolatedMargin": "0.00000000"}  # fmt: skip
    who: Any = type("Who", (), {"account_id": ALICE, "alias": "a"})
    (btc,) = account(engine, who, deposits.rows[ALICE], ("BTC",), v2=False)["assets"]
    assert list(btc) == [  # the keys of part 3 §4.2's COIN-M response, in its order: no marginAvailable
        "asset", "walletBalance", "unrealizedProfit", "marginBalance", "maintMargin", "initialMargin",
        "positionInitialMargin", "openOrderInitialMargin", "maxWithdrawAmount", "crossWalletBalance",
        "crossUnPnl", "availableBalance", "updateTime"]  # fmt: skip
    new_order(engine, ALICE, {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "MARKET", "quantity": "100"}, NOW)
    assert engine.ledger(ALICE).position("BTCUSD_PERP").isolated_wallet == 990_000
    (moved,) = margin_history(engine, reads(ALICE, symbol="BTCUSD_PERP"), NOW + 1)  # type: ignore[arg-type]
    assert list(moved) == ["amount", "asset", "symbol", "time", "type", "positionSide"]  # part 3 §4.8's COIN-M
    assert engine.figures(ALICE, "BTC").cross_wallet == 99_990_000 - 990_000
    # §7.10 inverse, WB the isolated wallet: (100 × 0.004 + 100) / (0.0099 / 100 + 100 / 50 000)
    price = liquidation_price(engine, engine.ledger(ALICE), "BTCUSD_PERP")
    assert price == Fraction("100.4") / (Fraction("0.0099") / 100 + Fraction(100, 50_000))


def test_reducing_a_losing_position_releases_its_share_of_the_equity_not_of_the_wallet(
    engine: Engine, book: Book
) -> None:
    isolated_long(engine)
    mark_to(engine, book, "57300", NOW + 1)  # equity 1 485 − 1 350 = 135: a margin call only
    book.bids = [(5_730_000, 5000)]
    new_order(engine, ALICE, order(side="SELL", type="MARKET", quantity="0.250", timeinforce=""), NOW + 2)
    f = engine.ledger(ALICE).symbol_figures(engine.contracts["BTCUSDT"], Fraction(57300))
    # half the equity (67.5) to the cross wallet; the rest keeps its half less the fee 7.1625
    assert Fraction(engine.figures(ALICE, "USDT").cross_wallet, 10**8) == 8500 + Fraction("67.5")
    assert f.isolated_margin == Fraction("67.5") - Fraction("7.1625")
    new_order(engine, ALICE, order(side="SELL", type="MARKET", quantity="0.250", timeinforce=""), NOW + 3)
    # the whole trade: 1 350 lost, 15 + 2 × 7.1625 paid; nothing made, nothing lost beside
    assert wallet(engine, ALICE) == 10000 - 1350 - 15 - Fraction("14.325")


class TwoBooks(Book):
    """test_engine's BTCUSDT book, and ETHUSDT at ``eth`` (price units) a side."""

    def __init__(self) -> None:
        super().__init__()
        self.eth = 300_000
        self.marks["ETHUSDT"] = Fraction(3000)

    def levels(self, symbol: str, bids: bool) -> Any:
        if symbol == "ETHUSDT":
            return iter([(self.eth - 1, 10**7)] if bids else [(self.eth, 10**7)])
        return super().levels(symbol, bids)


def test_a_cross_positions_unrealized_profit_funds_no_isolated_wallet() -> None:
    book, deposits = TwoBooks(), Deposits()
    deposits.rows[ALICE] = [Balance(ALICE, Market.UM, "USDT", parse_amount("1000"), 1)]
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, deposits, Kept())
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED")
    new_order(engine, ALICE, order(symbol="ETHUSDT", type="MARKET", quantity="3.000", timeinforce=""), NOW)
    book.marks["ETHUSDT"] = Fraction(3300)  # +900 unrealized on the cross long
    f = engine.figures(ALICE, "USDT")
    assert f.available > f.max_withdraw + 800
    # moved in by positionMargin, or by an isolated order's fill: the cross wallet's money only
    new_order(engine, ALICE, order(type="MARKET", quantity="0.010", timeinforce=""), NOW + 1)
    too_much = str(int(f.max_withdraw) + 1)
    assert refusal(move, engine, amount=too_much, type="1") == (-4050, "Cross balance insufficient.")
    # 1 200 of margin at 20x: less than the available balance (its +900 counted), more than the
    # cross wallet holds free
    big = order(type="MARKET", quantity="0.400", timeinforce="")
    assert refusal(partial(new_order, engine), ALICE, big, NOW + 2) == (-2019, "Margin is insufficient.")


def test_a_journal_from_before_isolated_margin_takes_an_open_isolated_position_as_cross(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = from_old_journal(
        path,
        "CREATE TABLE venue_positions (account_id INTEGER NOT NULL, symbol TEXT NOT NULL, amt INTEGER NOT NULL, "
        "entry TEXT NOT NULL, update_ms INTEGER NOT NULL, PRIMARY KEY (account_id, symbol)) WITHOUT ROWID;"
        "CREATE TABLE venue_settings (account_id INTEGER NOT NULL, symbol TEXT NOT NULL, leverage INTEGER, "
        "isolated INTEGER, PRIMARY KEY (account_id, symbol)) WITHOUT ROWID;"
        "INSERT INTO venue_positions VALUES (1, 'BTCUSDT', 500, '60000/1', 0);"
        "INSERT INTO venue_settings VALUES (1, 'BTCUSDT', NULL, 1), (1, 'ETHUSDT', NULL, 1);",
    )
    # the open position was margined as cross all along: cross it stays; a flat symbol keeps its setting
    assert engine.ledger(ALICE).isolated == {"ETHUSDT"}


def test_a_funding_that_takes_an_isolated_position_past_its_margin_liquidates_it_at_once(
    engine: Engine, book: Book
) -> None:
    isolated_long(engine)
    mark_to(engine, book, "57300", NOW + 1)  # equity 135 against MM 114.6: a margin call only
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 500
    at = NOW + 3_600_000
    # 28 650 × 0.001 = 28.65 from the isolated wallet: equity 106.35, below its MM
    engine.apply(Marks(tuple([funding(at, "0.00100000", "57300.00000000")])), at + 5)
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 0 and iw(engine) == 0
