# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""Multi-Assets mode without sockets (part 3 §4.7, §11; ``venue/ledger/collateral.py``): alice's
USDⓈ-M wallet holds 1 BTC and no USDT; the engine of ``test_engine`` (asks 60 000 ×1,
60 001 ×2; mark 60 000). In single-asset mode her BTC margins nothing; in Multi-Assets mode
it is collateral at 0.95 of its mark, for USDT-margined positions whose fees and PnL take
the USDT wallet below zero."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path

import pytest
from test_engine import ALICE, NOW, Book, Kept, book, journal, order, refusal  # noqa: F401
from test_funding_liquidation import events, funding, mark_to, reads

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.units import fixed
from tickerplant.venue.auth.accounts import Account, Balance
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.clearing.liquidation import liquidation_price
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import AutoExchange, Marks
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.wire.account_payloads import account
from tickerplant.venue.wire.algo_rest import new_algo
from tickerplant.venue.wire.order_entry import cancel_all, new_order
from tickerplant.venue.wire.settings_routes import multi_assets_endpoint, set_margin_type, set_multi_assets


class Coins:
    """alice: 1 BTC in her USDⓈ-M wallet, no USDT."""

    def balances(self, account_id: int) -> list[Balance]:
        return [Balance(ALICE, Market.UM, "BTC", parse_amount("1"), 1)] if account_id == ALICE else []


@pytest.fixture
def engine(book: Book, journal: Kept) -> Engine:
    return Engine(Market.UM, catalogue(Market.UM, NOW), book, Coins(), journal)


def buy(quantity: str) -> dict[str, str]:
    return order(type="MARKET", timeinforce="", quantity=quantity)


def usdt(engine: Engine) -> Fraction:
    return Fraction(engine.wallet(engine.ledger(ALICE), "USDT"), 10**8)


def test_btc_margins_usdt_positions_only_in_multi_assets_mode(engine: Engine) -> None:
    assert refusal(partial(new_order, engine), ALICE, buy("0.500"), NOW) == (-2019, "Margin is insufficient.")
    assert multi_assets_endpoint(engine, reads(ALICE), NOW) == {"multiAssetsMargin": False}
    set_multi_assets(engine, ALICE, True)
    assert multi_assets_endpoint(engine, reads(ALICE), NOW) == {"multiAssetsMargin": True}
    new_order(engine, ALICE, buy("0.500"), NOW)  # 30 000 at 20×: 1 500 of initial margin
    assert usdt(engine) == -15  # the fee, in USDT: below zero, backed by the BTC
    pool = engine.margin_figures(engine.ledger(ALICE), "USDT")
    assert Fraction(pool.wallet, 10**8) == 60000 * Fraction(95, 100) - 15  # the haircut value, in USD
    assert pool.available == 57000 - 15 - 1500
    # more than the pool holds: 0.95 BTC's worth at 20× is about 18 BTC of notional
    assert refusal(partial(new_order, engine), ALICE, order(quantity="20.000", price="60000"), NOW)[0] == -2019
    who = Account(ALICE, "alice", "a", False, NOW)
    answer = account(engine, who, Coins().balances(ALICE), [], v2=False)
    assert answer["totalWalletBalance"] == "56985.00000000" and answer["availableBalance"] == "55485.00000000"
    btc = next(r for r in answer["assets"] if r["asset"] == "BTC")
    assert btc["walletBalance"] == "1.00000000"
    assert btc["availableBalance"] == "0.92475000"  # the pool's 55 485 USD in BTC at 60 000
    assert btc["maxWithdrawAmount"] == "0.92475000"


def test_switching_and_its_refusals(engine: Engine) -> None:
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED")
    text = "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures under isolated-margin mode."
    assert refusal(set_multi_assets, engine, ALICE, True) == (-4167, text)
    set_margin_type(engine, ALICE, "BTCUSDT", "CROSSED")
    already = "Adjusted asset mode is currently set and does not need to be adjusted repeatedly."
    assert refusal(set_multi_assets, engine, ALICE, False) == (-4171, already)
    set_multi_assets(engine, ALICE, True)
    assert refusal(set_margin_type, engine, ALICE, "ETHUSDT", "ISOLATED") == (
        -4168, "Unable to adjust to isolated-margin mode under the Multi-Assets mode.")  # fmt: skip
    new_order(engine, ALICE, order(quantity="0.010", price="59000"), NOW)
    assert refusal(set_multi_assets, engine, ALICE, False)[0] == -4170  # open orders
    cancel_all(engine, ALICE, "BTCUSDT", NOW)
    new_order(engine, ALICE, buy("0.100"), NOW)
    # USDT alone (−3 of fees) cannot hold the position's 300 of initial margin
    assert refusal(set_multi_assets, engine, ALICE, False)[0] == -4169
    new_order(engine, ALICE, order(type="MARKET", timeinforce="", side="SELL", quantity="0.100"), NOW)
    assert usdt(engine) < 0  # flat, its USDT below zero: backed by the BTC only in the mode
    text = "Unable to adjust Multi-Assets Mode with a negative wallet balance of margin available asset"
    assert refusal(set_multi_assets, engine, ALICE, False) == (-4172, text + " in USDⓈ-M Futures account.")
    engine.ledger(ALICE).multi_assets = False  # (as an older journal could have left it) and on:
    assert refusal(set_multi_assets, engine, ALICE, True) == (-4172, text + " in USDⓈ-M Futures account.")
    engine.ledger(ALICE).multi_assets = True
    stop = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
            "quantity": "0.001", "triggerprice": "70000", "workingtype": "MARK_PRICE"}  # fmt: skip
    new_algo(engine, ALICE, stop, NOW)
    assert refusal(set_multi_assets, engine, ALICE, False)[0] == -4170  # an open algo order counts too


def test_the_pool_is_liquidated_when_the_collateral_falls_with_the_position(engine: Engine, book: Book) -> None:
    set_multi_assets(engine, ALICE, True)
    new_order(engine, ALICE, buy("0.500"), NOW)
    # pool at mark P: 0.95 P − 15 + 0.5 (P − 60 000); maintenance 0.5 P × 0.004: equal near 20 729
    mark_to(engine, book, "21000", NOW + 1)
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 500  # above it: held
    book.marks["BTCUSDT"] = Fraction(20000)
    mark_to(engine, book, "20000", NOW + 2)
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 0
    assert engine.margin_figures(engine.ledger(ALICE), "USDT").wallet >= 0  # never below the pool's zero


def test_the_mode_comes_back_from_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    AccountStore(path).close()
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Coins(), journal)
    set_multi_assets(engine, ALICE, True)
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Coins(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    assert again.ledger(ALICE).multi_assets and not again.ledger(ALICE).hedge


class Quotes:
    """A book quoting each symbol one tick around its mark, deep (the liquidations below
    trade at the market, not at test_engine's fixed 60 000)."""

    def __init__(self, **marks: int) -> None:
        self.marks = {symbol: Fraction(price) for symbol, price in marks.items()}

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        mark = self.marks.get(symbol)
        if mark is None:
            return iter(())
        units = int(mark * 100)
        return iter([(units - 10 if bids else units + 10, 10**9)])

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return next((q for p, q in self.levels(symbol, bids) if p == price), 0)

    def mark(self, symbol: str) -> Fraction | None:
        return self.marks.get(symbol)

    def book_id(self, symbol: str) -> int | None:
        return None  # fixed levels: every taker meets them whole

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


def watched(engine: Engine, quotes: Quotes, symbol: str, price: int, now_ms: int) -> None:
    quotes.marks[symbol] = Fraction(price)
    engine.apply(Marks(tuple([StreamMessage(f"{symbol.lower()}@markState", b"{}")])), now_ms)


def test_a_collaterals_mark_checks_the_accounts_that_hold_it(journal: Kept) -> None:
    quotes = Quotes(BTCUSDT=60000, ETHUSDT=3000)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), quotes, Coins(), journal)
    set_multi_assets(engine, ALICE, True, NOW)
    assert written(engine, engine.outbox.take(), lambda _: "")[0][2] == (
        b'{"e":"ACCOUNT_CONFIG_UPDATE","E":%d,"T":%d,"ai":{"j":true}}' % (NOW, NOW))  # fmt: skip
    new_order(engine, ALICE, order(symbol="ETHUSDT", type="MARKET", timeinforce="", quantity="10.000"), NOW)
    # the BTC that margins the ETH position falls: its mark alone liquidates the ETH position
    watched(engine, quotes, "BTCUSDT", 100, NOW + 1)  # 95 − 16 of collateral < 150 of maintenance
    assert engine.ledger(ALICE).position("ETHUSDT").amt == 0


def test_a_liquidation_never_pays_a_solvent_account_for_its_haircut(journal: Kept) -> None:
    quotes = Quotes(BTCUSDT=60000)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), quotes, Coins(), journal)
    set_multi_assets(engine, ALICE, True)
    new_order(engine, ALICE, order(type="MARKET", timeinforce="", quantity="1.000"), NOW)  # 1 BTC long on 1 BTC
    # §7.10 with the BTC moving with the mark: 0.95 P − 30.00005 + (P − 60 000.10) = 0.004 P
    ledger = engine.ledger(ALICE)
    price = liquidation_price(engine, ledger, "BTCUSDT")
    assert price == (Fraction("60000.10") + Fraction("30.00005")) / (Fraction("1.95") - Fraction("0.004"))
    watched(engine, quotes, "BTCUSDT", 30500, NOW + 1)  # a gap past it; the account still worth ~970
    assert ledger.position("BTCUSDT").amt == 0
    (fill,) = [f for f in engine.fills(ALICE, "BTCUSDT") if f.side.value == "SELL"]
    assert fill.price == 3_049_990  # at the market's bid, not an insurance price above it
    clear = [i.amount for i in ledger.income if i.kind == "INSURANCE_CLEAR"]
    assert clear and clear[0] < 0  # a fee, no credit: the BTC's whole value covered the loss
    worth = usdt(engine) + 30500  # the USDT wallet and the 1 BTC at its whole value
    assert worth > 0


def test_no_liquidation_while_a_collateral_has_no_price(journal: Kept) -> None:
    quotes = Quotes(BTCUSDT=60000, ETHUSDT=3000)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), quotes, Coins(), journal)
    set_multi_assets(engine, ALICE, True)
    new_order(engine, ALICE, order(symbol="ETHUSDT", type="MARKET", timeinforce="", quantity="1.000"), NOW)
    del quotes.marks["BTCUSDT"]  # e.g. a restart where ETHUSDT's mark comes first
    watched(engine, quotes, "ETHUSDT", 3000, NOW + 1)
    assert engine.ledger(ALICE).position("ETHUSDT").amt == 1000  # not judged on a BTC valued at 0
    who = Account(ALICE, "alice", "a", False, NOW)
    btc = next(r for r in account(engine, who, Coins().balances(ALICE), [], v2=False)["assets"]
               if r["asset"] == "BTC")  # fmt: skip
    assert btc["availableBalance"] == btc["maxWithdrawAmount"] == "0.00000000"


def test_a_usdt_wallet_below_the_threshold_is_covered_by_selling_btc_at_its_mark(engine: Engine) -> None:
    set_multi_assets(engine, ALICE, True)
    new_order(engine, ALICE, buy("1.500"), NOW)  # 60 000 ×1 and 60 001 ×0.5
    fees = -usdt(engine)
    engine.apply(AutoExchange(), NOW)
    assert usdt(engine) == -fees  # above -10 000: kept, backed by the BTC
    engine.outbox.take()
    # the capped rate (0.4 %, part 3 §9) at a funding mark of 1 800 000: 10 800 paid
    engine.apply(Marks(tuple([funding(NOW, "0.004", "1800000")])), NOW + 1)
    shortfall = fees + 10800
    assert usdt(engine) == -shortfall
    engine.apply(AutoExchange(), NOW + 1)
    ledger = engine.ledger(ALICE)
    needed = shortfall * 10**8 / 60000  # BTC at its mark, in 1e-8
    sold = -(-needed.numerator // needed.denominator)  # rounded up
    assert usdt(engine) == 0  # brought back to zero exactly
    assert engine.wallet(ledger, "BTC") == 10**8 - sold
    rows = [(i.asset, i.amount) for i in ledger.income if i.kind == "AUTO_EXCHANGE"]
    assert rows == [("USDT", shortfall * 10**8), ("BTC", -sold)]
    (update,) = [p for _, kind, p in events(engine) if kind == "ACCOUNT_UPDATE" and p["a"]["m"] == "AUTO_EXCHANGE"]
    btc = fixed(10**8 - sold, 8)
    assert update["a"]["B"] == [
        {"a": "USDT", "wb": "0.00000000", "cw": "0.00000000", "bc": fixed(int(shortfall * 10**8), 8).rstrip("0")},
        {"a": "BTC", "wb": btc, "cw": btc, "bc": fixed(-sold, 8)},
    ]
    engine.apply(AutoExchange(), NOW + 2)  # nothing below the threshold now: nothing more
    assert len(rows) == len([i for i in ledger.income if i.kind == "AUTO_EXCHANGE"])


def test_single_asset_mode_is_never_exchanged(engine: Engine) -> None:
    ledger = engine.ledger(ALICE)
    ledger.changes["USDT"] = -parse_amount("20000")  # as a loss would leave it
    engine.apply(AutoExchange(), NOW)
    assert usdt(engine) == -20000  # single-asset mode: BTC covers nothing
    assert not [i for i in ledger.income if i.kind == "AUTO_EXCHANGE"]
    ledger.multi_assets = True  # (switching is refused with a negative wallet: -4172)
    engine.exposure.pooled.add(ALICE)
    engine.apply(AutoExchange(), NOW)
    assert usdt(engine) == 0
