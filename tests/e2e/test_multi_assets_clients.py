# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Multi-Assets mode over a real socket (part 3 §4.7, §11): bob holds 42.125 USDT and 1 BTC
in his USDⓈ-M wallet; python-binance turns the mode on and his BTC margins a position his
USDT alone could not; ccxt's isolated margin is refused in the mode as Binance refuses it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from binance.exceptions import BinanceAPIException
from test_ccxt_trading import SYMBOL, trader
from test_venue_clients import Venue, closing, plant, python_binance, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.accounts import parse_amount


async def test_btc_is_collateral_for_a_usdt_position(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    venue.store.deposit(venue.bob, Market.UM, "BTC", parse_amount("1"), SystemClock().now_ms())
    client = python_binance(plant, closing, venue.bob_hmac)
    exchange = trader(plant, venue.bob_hmac, closing)
    await exchange.load_markets()
    with pytest.raises(BinanceAPIException) as refused:  # 42 USDT cannot margin 0.1 BTC at 20×
        await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.1")
    assert refused.value.code == -2019
    assert (await client.futures_get_multi_assets_mode())["multiAssetsMargin"] is False
    assert await client.futures_change_multi_assets_mode(multiAssetsMargin=True) == {"code": 200, "msg": "success"}
    assert (await client.futures_get_multi_assets_mode())["multiAssetsMargin"] is True

    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.1")
    account = await client.futures_account()  # v3
    btc = next(a for a in account["assets"] if a["asset"] == "BTC")
    usdt = next(a for a in account["assets"] if a["asset"] == "USDT")
    mark = Decimal((await client.futures_mark_price(symbol="BTCUSDT"))["markPrice"])
    # the pool in USD: the USDT wallet and 0.95 of the BTC at about the mark
    pool = Decimal(usdt["walletBalance"]) + Decimal("0.95") * mark
    assert abs(Decimal(account["totalWalletBalance"]) - pool) < mark / 100
    assert Decimal(btc["availableBalance"]) * mark == pytest.approx(Decimal(account["availableBalance"]), rel=Decimal("0.01"))
    assert (await client.futures_account_config())["multiAssetsMargin"] is True
    with pytest.raises(ccxtpro.ExchangeError, match="-4168"):
        await exchange.set_margin_mode("isolated", SYMBOL)
