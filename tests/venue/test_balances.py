"""The balance payloads against part 3 §4.1's examples: keys in Binance's order, types,
and which assets each market lists."""

from __future__ import annotations

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import Account, Balance
from tickerplant.venue.payloads.balances import balance_rows

ACCOUNT = Account(1, "a", "SgsR", False, 0)


def test_usds_m_shape_as_the_capture() -> None:
    # part 3 §4.1, the live v2 capture of a one-asset account (alias as the doc's)
    held = [Balance(1, Market.UM, "USDT", 2_430_489_058, 1785718214133), Balance(1, Market.CM, "BTC", 1, 5)]
    rows = msgspec.json.decode(msgspec.json.encode(balance_rows(Market.UM, ACCOUNT, held, ["BTC"])))
    assert msgspec.json.encode(rows[0]) == (
        b'{"accountAlias":"SgsR","asset":"USDT","balance":"24.30489058","crossWalletBalance":"24.30489058",'
        b'"crossUnPnl":"0.00000000","availableBalance":"24.30489058","maxWithdrawAmount":"24.30489058",'
        b'"marginAvailable":true,"updateTime":1785718214133}'
    )
    assert [r["asset"] for r in rows] == ["USDT", "USDC", "BNB", "BTC", "ETH", "FDUSD", "BFUSD"]
    assert rows[3]["balance"] == "0.00000000" and rows[3]["updateTime"] == 0  # the COIN-M wallet's BTC is not here


def test_coin_m_shape_as_the_doc() -> None:
    held = [Balance(1, Market.CM, "BTC", 250_000, 1592468353979), Balance(1, Market.CM, "XYZ", 1, 2)]
    encoded = msgspec.json.encode(balance_rows(Market.CM, ACCOUNT, held, ["BTC", "ETH", "BTC"]))
    rows = msgspec.json.decode(encoded)
    assert encoded.startswith(
        b'[{"accountAlias":"SgsR","asset":"BTC","balance":"0.00250000","withdrawAvailable":"0.00250000",'
        b'"crossWalletBalance":"0.00250000","crossUnPnl":"0.00000000","availableBalance":"0.00250000",'
        b'"updateTime":1592468353979}'
    )
    assert [r["asset"] for r in rows] == ["BTC", "ETH", "XYZ"]  # the coins once each, then what else it holds
