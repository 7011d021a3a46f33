"""A liquidation's clearance fee (``INSURANCE_CLEAR``) is the fee rate on the exact sum of
its fills' notionals, rounded down at 8 decimals (part 3 §10), worked out in integers: on
COIN-M each fill's notional ``q × CS / price`` is off the grid, so a fee rounded to the
nearest (or summed from rounded notionals) writes another unit."""

from __future__ import annotations

import json
import math
from fractions import Fraction

from test_engine import ALICE, NOW, Deposits, Kept
from test_funding_liquidation import CoinBook

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Marks
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.wire.order_entry import new_order


def test_the_clearance_fee_is_the_rate_on_the_exact_notional_rounded_down() -> None:
    # 100 BTCUSD_PERP (CS 100 USD) long at 50 000 on 0.011 BTC, liquidated at a mark of 47 600
    # and sold to a bid of 48 160, well above the bankruptcy price: the fee is left whole
    deposits, book = Deposits(), CoinBook(bid=48_160)
    deposits.rows[ALICE] = [Balance(ALICE, Market.CM, "BTC", parse_amount("0.011"), 1)]
    engine = Engine(Market.CM, catalogue(Market.CM, NOW), book, deposits, Kept())
    new_order(engine, ALICE, {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "MARKET", "quantity": "100"}, NOW)
    engine.outbox.take()
    book.marks["BTCUSD_PERP"] = Fraction(47600)
    engine.apply(Marks(tuple([StreamMessage("btcusd_perp@markState", b"{}")])), NOW + 1)
    (clear,) = [
        json.loads(p)["a"] for _, e, p in written(engine, engine.outbox.take(), lambda _: "")
        if e == "ACCOUNT_UPDATE" and b"INSURANCE_CLEAR" in p
    ]  # fmt: skip
    fee = Fraction(100 * 100, 48_160) * Fraction(15, 1000) * 10**8  # 311 461.79… units of 1e-8
    assert (math.floor(fee), round(fee)) == (311_461, 311_462)  # down and nearest differ here
    assert clear["B"][0]["bc"] == "-0.00311461"
