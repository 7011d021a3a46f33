# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""A bankrupt liquidation without sockets (part 3 §8 steps 5–6): the fills at the bankruptcy
price lose the whole collateral, so what their taker commission may take is what the
collateral keeps over the fills still to come, and no wallet the events carry (``wb``,
``cw``, an isolated ``iw``) passes below zero; the money reconciles to the unit: wallet =
deposit + Σ income, Σ userTrades commission = −Σ ``COMMISSION`` income. Worked example A's
long (part 3 §7.12: 10 000 USDT, 0.5 BTC bought at 60 000, wallet 9 985, bankruptcy price
60 000 − 9 985 / 0.5 = 40 030)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from test_engine import ALICE, NOW, Book, Deposits, Kept, book, journal, order  # noqa: F401
from test_funding_liquidation import events, long_half_btc, mark_to, reads, wallet

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.clearing.liquidation import payable
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.payloads.order_payloads import trade
from tickerplant.venue.wire.account_reads import income
from tickerplant.venue.wire.order_entry import new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_margin_type


@pytest.fixture
def engine(book: Book, journal: Kept) -> Engine:
    return Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)


def wallets(got: list[tuple[int, str, Any]]) -> list[tuple[str, Decimal, Decimal]]:
    """Every ``ACCOUNT_UPDATE``'s reason, ``wb`` and ``cw``, in the order sent."""
    return [
        (p["a"]["m"], Decimal(b["wb"]), Decimal(b["cw"]))
        for _, e, p in got if e == "ACCOUNT_UPDATE" for b in p["a"]["B"]
    ]  # fmt: skip


def never_below_zero(got: list[tuple[int, str, Any]]) -> None:
    """No ``wb``, ``cw`` or isolated ``iw`` below zero in any event sent."""
    for _, e, p in got:
        if e == "ACCOUNT_UPDATE":
            assert all(Decimal(b["wb"]) >= 0 and Decimal(b["cw"]) >= 0 for b in p["a"]["B"]), p
            assert all(Decimal(r["iw"]) >= 0 for r in p["a"]["P"]), p


def reconciles(engine: Engine, deposit: int) -> None:
    rows = income(engine, reads(ALICE, limit="1000"), NOW + 10)  # type: ignore[arg-type]
    assert wallet(engine, ALICE) == deposit + sum(Fraction(r["income"]) for r in rows)
    inst = engine.instruments["BTCUSDT"]
    paid = sum(Fraction(trade(f, inst)["commission"]) for f in engine.fills(ALICE, "BTCUSDT"))
    assert paid == -sum(Fraction(r["income"]) for r in rows if r["incomeType"] == "COMMISSION")


def test_payable_charges_the_first_fills_and_leaves_the_wallet_no_lower_than_zero() -> None:
    # 10 in the wallet; fills realizing −6 then −3: 1 left for commissions, the first pays it
    assert payable(10, [-6, -3], [2, 2]) == [1, 0]
    assert payable(10, [-6, -3], [0, 2]) == [0, 1]
    assert payable(10, [-2, -3], [2, 2]) == [2, 2]  # enough for both
    # a gain first and a loss after it: the gain may pay only what the loss leaves
    assert payable(0, [5, -4], [3, 3]) == [1, 0]
    assert payable(0, [-0, -0], [3, 3]) == [0, 0] and payable(7, [], []) == []


def test_a_bankrupt_cross_liquidation_never_sends_a_wallet_below_zero(
    engine: Engine, book: Book, journal: Kept
) -> None:
    long_half_btc(engine)
    book.bids = [(4_004_000, 300), (3_000_000, 5000)]  # 0.3 at 40 040; then nothing above 40 030
    engine.outbox.take()
    mark_to(engine, book, "40150", NOW + 1)  # past the liquidation price 40 190.76
    got = events(engine)
    never_below_zero(got)
    fills = [p["o"] for _, e, p in got if e == "ORDER_TRADE_UPDATE" and p["o"]["x"] == "CALCULATED"]
    # 0.3 at 40 040: −5 988; the insurance fund takes 0.2 at 40 030: −3 994. Of the 9 985,
    # 3 are left for the commissions (6.006 and 4.003): the first fill pays 3, the last none
    assert [(f["L"], f["l"], f["rp"], f["n"]) for f in fills] == [
        ("40040", "0.3", "-5988.00000000", "3.00000000"), ("40030", "0.2", "-3994.00000000", "0")]  # fmt: skip
    assert wallets(got) == [("ORDER", Decimal(3994), Decimal(3994)), ("ORDER", 0, 0)]  # no INSURANCE_CLEAR
    assert wallet(engine, ALICE) == 0 and not journal.batches[-1].incomes
    reconciles(engine, 10000)


def test_a_liquidation_that_leaves_less_than_its_commissions_is_not_credited(engine: Engine, book: Book) -> None:
    long_half_btc(engine)
    book.bids = [(3_000_000, 5000)]  # far below the bankruptcy price: the insurance fund takes all
    engine.outbox.take()
    mark_to(engine, book, "40150", NOW + 1)
    got = events(engine)
    never_below_zero(got)
    (fill,) = [p["o"] for _, e, p in got if e == "ORDER_TRADE_UPDATE" and p["o"]["x"] == "CALCULATED"]
    assert (fill["L"], fill["rp"], fill["n"]) == ("40030", "-9985.00000000", "0")
    assert wallets(got) == [("ORDER", 0, 0)]
    reconciles(engine, 10000)


def test_a_hedged_account_closes_its_profitable_side_first(engine: Engine, book: Book) -> None:
    """A long of 1 and a short of 0.5: the short's profit holds up the long, so the long's
    bankruptcy price counts on it. Closed long first, the wallet would pass below zero
    until the short's profit came in; the short goes first."""
    set_dual_side(engine, ALICE, True)
    book.asks = [(6_000_000, 5000)]
    new_order(engine, ALICE, order(type="MARKET", timeinforce="", positionside="LONG", quantity="1.000"), NOW)
    new_order(engine, ALICE, order(type="MARKET", timeinforce="", side="SELL", positionside="SHORT", quantity="0.500"), NOW)
    # 10 000 − 30 − 14.99975 (the short sold 0.5 at 59 999)
    assert wallet(engine, ALICE) == Fraction("9955.00025")
    book.bids, book.asks = [(3_000_000, 5000)], [(4_003_000, 5000)]  # the long's sale: none above its price
    engine.outbox.take()
    # margin balance 9 955.00025 − 19 900 + 9 949.5 = 4.50025, maintenance 0.004 × 60 150
    mark_to(engine, book, "40100", NOW + 1)
    got = events(engine)
    never_below_zero(got)
    news = [p["o"] for _, e, p in got if e == "ORDER_TRADE_UPDATE" and p["o"]["x"] == "NEW"]
    # the short's limit: where the wallet and the long's loss at the mark (−19 900) are lost
    assert [(o["ps"], o["S"], o["p"]) for o in news] == [("SHORT", "BUY", "40109"), ("LONG", "SELL", "40070.6")]
    fills = [p["o"] for _, e, p in got if e == "ORDER_TRADE_UPDATE" and p["o"]["x"] == "CALCULATED"]
    # the short buys at 40 030: +9 984.5 − 10.0075; the long, on the 19 929.49275 that leaves
    # (bankruptcy price 40 070.50725, up to the tick), is taken by the insurance fund
    assert [(f["ps"], f["L"], f["rp"], f["n"]) for f in fills] == [
        ("SHORT", "40030", "9984.50000000", "10.00750000"), ("LONG", "40070.6", "-19929.40000000", "0.09275000")]  # fmt: skip
    assert wallets(got) == [("ORDER", Decimal("19929.49275"), Decimal("19929.49275")), ("ORDER", 0, 0)]
    assert not any(p.amt for p in engine.ledger(ALICE).positions.values())
    reconciles(engine, 10000)


def test_an_isolated_wallet_keeps_its_margin_until_the_liquidation_closes_it(engine: Engine, book: Book) -> None:
    """Isolated (wallet 1 485, bankruptcy price 57 030): were each fill to release its share
    of the position's equity to the cross wallet as an ordinary reduction does, the second
    fill would leave the isolated wallet below zero with 0.001 still to close."""
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED")
    long_half_btc(engine)
    book.bids = [(5_900_000, 300), (5_703_000, 199)]  # then the insurance fund takes 0.001 at 57 030
    engine.outbox.take()
    mark_to(engine, book, "57250", NOW + 1)
    got = events(engine)
    never_below_zero(got)
    rows = [(p["a"]["B"][0]["cw"], p["a"]["P"][0]["iw"]) for _, e, p in got if e == "ACCOUNT_UPDATE" and p["a"]["P"]]
    # 1 485 − 300 − 8.85; − 591.03 − 5.674485 (0.199 × 57 030 × 0.0005, down); then closed
    assert rows == [("8500.00000000", "1176.15000000"), ("8500.00000000", "579.44551500"),
                    ("9076.44700000", "0.00000000")]  # fmt: skip
    reconciles(engine, 10000)
