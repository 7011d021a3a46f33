"""The asset index's rows by hand (market/payloads/asset_index.py), and the venue's
collateral rates read from the same buffers."""

from __future__ import annotations

from fractions import Fraction

from tickerplant.market.payloads.asset_index import MARGIN_ASSETS, asset_index_row, asset_price
from tickerplant.venue.ledger.collateral import COLLATERAL_RATE, COLLATERAL_SYMBOLS


def test_rows_by_hand_rounded_half_up_to_eight_decimals() -> None:
    row = asset_index_row("BTC", Fraction("61234.567890125"), 1_790_000_000_000)
    assert row == {
        "symbol": "BTCUSD", "time": 1_790_000_000_000, "index": "61234.56789013",  # ...0125 up
        "bidBuffer": "0.05000000", "askBuffer": "0.00000000",
        "bidRate": "58172.83949562",  # 61234.567890125 × 0.95 = 58172.8394956187…
        "askRate": "61234.56789013", "autoExchangeBidBuffer": "0.00000000",
        "autoExchangeAskBuffer": "0.00000000", "autoExchangeBidRate": "61234.56789013",
        "autoExchangeAskRate": "61234.56789013",
    }  # fmt: skip
    assert asset_index_row("USDC", Fraction(1), 5)["bidRate"] == "1.00000000"


def test_prices_and_the_venues_collateral_rates_agree() -> None:
    marks = {"BTCUSDT": Fraction(60000)}
    assert asset_price("BTC", marks.get) == 60000 and asset_price("ETH", marks.get) is None  # not marked yet
    assert asset_price("FDUSD", marks.get) == 1 and asset_price("DOGE", marks.get) is None
    assert set(COLLATERAL_RATE) == set(MARGIN_ASSETS)
    assert COLLATERAL_RATE["BTC"] == Fraction(95, 100) and COLLATERAL_RATE["USDT"] == 1
    assert COLLATERAL_SYMBOLS == {"BNBUSDT": "BNB", "BTCUSDT": "BTC", "ETHUSDT": "ETH"}
