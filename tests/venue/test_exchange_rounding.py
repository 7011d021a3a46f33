# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""Multi-Assets mode's automatic exchange (``clearing/auto_exchange.py``), in integers: a
source that runs out before the shortfall is covered gives all it is worth at the prices,
rounded down (the asset sold is rounded up: ``test_multi_assets``)."""

from __future__ import annotations

import math
from fractions import Fraction

from test_engine import ALICE, NOW, Book, Kept, book, journal  # noqa: F401
from test_multi_assets import Coins

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import AutoExchange
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.settings_routes import set_multi_assets


def test_a_source_that_runs_out_covers_what_it_is_worth_rounded_down(book: Book, journal: Kept) -> None:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Coins(), journal)
    set_multi_assets(engine, ALICE, True)
    ledger = engine.ledger(ALICE)
    ledger.changes["USDT"] = -parse_amount("100000")  # as a loss would leave it
    ledger.changes["BTC"] = -1  # 0.99999999 BTC: worth less than the shortfall
    book.marks["BTCUSDT"] = Fraction("60000.07")
    engine.apply(AutoExchange(), NOW)
    worth = 99_999_999 * Fraction("60000.07")  # 1e-8 USDT
    assert (math.floor(worth), round(worth)) == (6_000_006_939_999, 6_000_006_940_000)
    rows = [(i.asset, i.amount) for i in ledger.income if i.kind == "AUTO_EXCHANGE"]
    assert rows == [("USDT", 6_000_006_939_999), ("BTC", -99_999_999)]
