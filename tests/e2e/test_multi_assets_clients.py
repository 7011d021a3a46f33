# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Multi-Assets mode over a real socket (part 3 §4.7, §11): bob holds 42.125 USDT and 1 BTC
in his USDⓈ-M wallet; python-binance turns the mode on and his BTC margins a position his
USDT alone could not; ccxt's isolated margin is refused in the mode as Binance refuses it;
a USDT wallet past the threshold is exchanged for BTC."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import ccxt.pro as ccxtpro
import msgspec
import pytest
from binance.exceptions import BinanceAPIException
from test_ccxt_trading import SYMBOL, trader
from test_venue_clients import Venue, closing, plant, python_binance, user_stream, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import SystemClock
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import Market
from tickerplant.venue.domain.money import parse_amount


async def test_btc_is_collateral_for_a_usdt_position(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    venue.store.deposit(venue.bob, Market.UM, "BTC", parse_amount("1"), SystemClock().now_ms())
    client = await python_binance(plant, closing, venue.bob_hmac)
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


async def test_a_usdt_wallet_past_the_threshold_is_exchanged_for_btc(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """A funding of 12 % of his notional takes bob's USDT wallet below -10 000 (exchangeInfo's
    ``autoAssetExchange``): his BTC is sold at its price to bring it back to zero, told as
    ``ACCOUNT_UPDATE`` ``m=AUTO_EXCHANGE`` and kept as ``AUTO_EXCHANGE`` income."""
    venue.store.deposit(venue.bob, Market.UM, "BTC", parse_amount("2"), SystemClock().now_ms())
    client = await python_binance(plant, closing, venue.bob_hmac)
    info = await client.futures_exchange_info()
    assert {a["asset"]: a["autoAssetExchange"] for a in info["assets"]}["USDT"] == "-10000"
    await client.futures_change_multi_assets_mode(multiAssetsMargin=True)
    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="1")
    user = await user_stream(plant, venue.bob_hmac)
    mark = Decimal((await client.futures_mark_price(symbol="BTCUSDT"))["markPrice"])
    now = plant.clock.now_ms()
    # the capped rate (0.4 %, part 3 §9) at 30 times the mark: 12 % of the notional
    event = FundingEvent("BTCUSDT", now, "0.004", f"{mark * 30:.8f}", now)
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(event))])
    updates = []
    while not updates or updates[-1]["a"]["m"] != "AUTO_EXCHANGE":
        updates.append(msgspec.json.decode((await user.recv_until(TEXT)).payload))
    assert [u["a"]["m"] for u in updates] == ["FUNDING_FEE", "AUTO_EXCHANGE"]
    usdt_row, btc_row = updates[-1]["a"]["B"]
    assert (usdt_row["a"], usdt_row["wb"], btc_row["a"]) == ("USDT", "0.00000000", "BTC")
    covered, sold = Decimal(usdt_row["bc"]), -Decimal(btc_row["bc"])
    price = plant.engines[Market.UM].mark("BTCUSDT")  # BTC's price: its perpetual's mark
    assert price is not None
    needed = Fraction(covered) * 10**8 / price  # of BTC, in 1e-8: rounded up
    assert covered > 10000 and sold * 10**8 == -(-needed.numerator // needed.denominator)
    rows = await client.futures_income_history(incomeType="AUTO_EXCHANGE")
    assert [(r["asset"], Decimal(r["income"])) for r in rows] == [("USDT", covered), ("BTC", -sold)]
    balances = {b["asset"]: Decimal(b["balance"]) for b in await client.futures_account_balance()}
    assert (balances["USDT"], balances["BTC"]) == (0, 2 - sold)
    await user.close()


TEXT = 0x1
