# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Orders over a real socket from third-party clients, unchanged but for their base URLs:
python-binance, ccxt and Binance's modular SDK place, query and cancel orders on USDⓈ-M
(python-binance on COIN-M too), read positions, account and balance; one account's key
cannot see or cancel another's orders; a placement answers with the order counts."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from binance.exceptions import BinanceAPIException
from binance_common.configuration import ConfigurationRestAPI
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import NewOrderSideEnum, NewOrderTypeEnum
from test_venue_clients import Venue, ccxt_usdm, closing, plant, python_binance, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.signing import hmac_hex


def _best(plant: Tickerplant, market: Market, symbol: str, bids: bool) -> int:
    level = next(plant.engines[market].data.levels(symbol, bids), None)
    assert level is not None, "the simulated book is empty"
    return level[0]


def _price(plant: Tickerplant, market: Market, symbol: str, units: int) -> str:
    return fixed(units, plant.engines[market].instruments[symbol].price_decimals)


async def test_python_binance_places_queries_and_cancels(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    below = _price(
        plant, Market.UM, "BTCUSDT", _best(plant, Market.UM, "BTCUSDT", True) - 50_000
    )  # 500 lower
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=below
    )
    assert list(placed) == [
        "orderId", "symbol", "status", "clientOrderId", "price", "origQty", "executedQty", "cumQty",
        "timeInForce", "type", "reduceOnly", "closePosition", "side", "positionSide", "stopPrice", "workingType",
        "priceProtect", "origType", "priceMatch", "selfTradePreventionMode", "goodTillDate", "updateTime",
    ]  # fmt: skip
    assert (placed["status"], placed["price"], placed["origQty"]) == ("NEW", below, "0.010")
    assert placed["clientOrderId"].startswith("x-Cb7ytekJ")  # python-binance's own prefix, echoed
    got = await client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert (got["status"], got["avgPrice"], got["cumQuote"], got["time"]) == (
        "NEW",
        "0.00000",
        "0.00000",
        placed["updateTime"],
    )
    assert [o["orderId"] for o in await client.futures_get_open_orders(symbol="BTCUSDT")] == [
        placed["orderId"]
    ]
    cancelled = await client.futures_cancel_order(symbol="BTCUSDT", origClientOrderId=placed["clientOrderId"])
    assert cancelled["status"] == "CANCELED"
    assert await client.futures_get_open_orders() == []
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert (caught.value.code, caught.value.message) == (-2011, "Unknown order sent.")

    bought = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010", newOrderRespType="RESULT"
    )
    assert (bought["status"], bought["executedQty"]) == ("FILLED", "0.010")
    trades = await client.futures_account_trades(symbol="BTCUSDT")
    assert sum(Decimal(t["qty"]) for t in trades) == Decimal("0.010") and not trades[0]["maker"]
    # the 2026-08 keys (part 2 §1, §6.8), at COIN-M's places; baseQty "0" on USDⓈ-M
    assert list(trades[0]) == [
        "symbol", "id", "orderId", "pair", "side", "price", "qty", "realizedPnl", "marginAsset", "baseQty",
        "quoteQty", "commission", "commissionAsset", "time", "positionSide", "buyer", "maker",
    ]  # fmt: skip
    assert (trades[0]["pair"], trades[0]["baseQty"]) == ("BTCUSDT", "0")
    fee = sum(Decimal(t["commission"]) for t in trades)
    assert fee == sum(
        (Decimal(t["quoteQty"]) * Decimal("0.0005")).quantize(Decimal("1e-8"), "ROUND_DOWN") for t in trades
    )
    position = [p for p in await client.futures_position_information() if p["symbol"] == "BTCUSDT"]
    assert position[0]["positionAmt"] == "0.010" and Decimal(position[0]["entryPrice"]) > 0
    account = await client.futures_account()  # /fapi/v2/account
    usdt = next(a for a in account["assets"] if a["asset"] == "USDT")
    assert Decimal(usdt["walletBalance"]) == Decimal("10000") - fee
    assert Decimal(account["availableBalance"]) < Decimal(usdt["walletBalance"])
    closed = await client.futures_create_order(
        symbol="BTCUSDT",
        side="SELL",
        type="MARKET",
        quantity="0.010",
        reduceOnly=True,
        newOrderRespType="RESULT",
    )
    assert closed["status"] == "FILLED"
    assert [p for p in await client.futures_position_information() if p["symbol"] == "BTCUSDT"] == []


async def test_python_binance_coin_m(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    bought = await client.futures_coin_create_order(
        symbol="BTCUSD_PERP", side="BUY", type="MARKET", quantity="1", newOrderRespType="RESULT"
    )
    assert (bought["status"], bought["pair"], bought["executedQty"]) == ("FILLED", "BTCUSD", "1")
    got = await client.futures_coin_get_order(symbol="BTCUSD_PERP", orderId=bought["orderId"])
    assert Decimal(got["cumBase"]) > 0 and Decimal(got["avgPrice"]) > 0
    trades = await client.futures_coin_account_trades(symbol="BTCUSD_PERP")
    assert trades[0]["marginAsset"] == "BTC" and trades[0]["quoteQty"] == "100"
    positions = await client.futures_coin_position_information()
    assert [p["positionAmt"] for p in positions if p["symbol"] == "BTCUSD_PERP"] == ["1"]
    # COIN-M's filters (part 3 §2.2): the pair's symbols, the coin's symbols
    by_pair = await client.futures_coin_position_information(pair="BTCUSD")
    assert by_pair and {p["symbol"].split("_")[0] for p in by_pair} == {"BTCUSD"}
    by_coin = await client.futures_coin_position_information(marginAsset="ETH")
    assert by_coin and all(p["symbol"].startswith("ETHUSD") for p in by_coin)
    assert await client.futures_coin_position_information(pair="NOSUCH") == []


async def test_a_key_cannot_reach_another_accounts_orders(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    alice = await python_binance(plant, closing, venue.alice_hmac)
    bob = await python_binance(plant, closing, venue.bob_hmac)
    below = _price(plant, Market.UM, "ETHUSDT", _best(plant, Market.UM, "ETHUSDT", True) - 1000)
    placed = await alice.futures_create_order(
        symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=below
    )
    for call, code, msg in (
        (bob.futures_get_order, -2013, "Order does not exist."),
        (bob.futures_cancel_order, -2011, "Unknown order sent."),
    ):
        with pytest.raises(BinanceAPIException) as caught:
            await call(symbol="ETHUSDT", orderId=placed["orderId"])
        assert (caught.value.code, caught.value.message) == (code, msg)
    assert await bob.futures_get_open_orders() == []
    assert (await alice.futures_get_order(symbol="ETHUSDT", orderId=placed["orderId"]))["status"] == "NEW"


async def test_ccxt_trades(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    exchange = ccxt_usdm(plant, closing, venue.alice_hmac)
    await exchange.load_markets()
    below = float(_price(plant, Market.UM, "ETHUSDT", _best(plant, Market.UM, "ETHUSDT", True) - 1000))
    order = await exchange.create_order("ETH/USDT:USDT", "limit", "buy", 0.01, below)
    assert order["status"] == "open" and order["clientOrderId"].startswith("x-cvBPrNm9")
    fetched = await exchange.fetch_order(order["id"], "ETH/USDT:USDT")
    assert (fetched["status"], fetched["amount"], fetched["price"]) == ("open", 0.01, below)
    cancelled = await exchange.cancel_order(order["id"], "ETH/USDT:USDT")
    assert cancelled["status"] == "canceled"
    market = await exchange.create_order("ETH/USDT:USDT", "market", "sell", 0.02)
    assert market["status"] == "closed" and market["filled"] == 0.02
    positions = await exchange.fetch_positions(["ETH/USDT:USDT"])
    assert [(p["side"], p["contracts"]) for p in positions] == [("short", 0.02)]
    balance = await exchange.fetch_balance()
    assert 0 < balance["USDT"]["free"] < balance["USDT"]["total"] < 10000


async def test_binance_sdk_and_the_order_count_headers(plant: Tickerplant, venue: Venue) -> None:
    port = plant.listeners[Market.UM].port
    configuration = ConfigurationRestAPI(
        api_key=venue.alice_rsa.api_key, private_key=venue.alice_rsa.secret,
        base_path=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    client = DerivativesTradingUsdsFutures(config_rest_api=configuration)
    response = await asyncio.to_thread(
        client.rest_api.new_order, symbol="SOLUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET,
        quantity=1.0,
    )  # fmt: skip
    placed = response.data()
    assert placed.status == "NEW" and placed.executed_qty == "0.00"  # ACK: the order as accepted
    assert response.rate_limits is not None and any(r.count == 1 for r in response.rate_limits)
    first_ms = placed.update_time  # when it was placed and counted (the ACK's updateTime)
    queried = await asyncio.to_thread(client.rest_api.query_order, symbol="SOLUSDT", order_id=placed.order_id)
    assert queried.data().status == "FILLED"

    # the counts as headers, over a plain HMAC request: the SDK's order too in each window that
    # holds both orders' times. The windows are the clock's (a 10 s window from each tenth
    # second, a minute from each minute), so on the system clock one of them now and then
    # turns between the two orders however close they are: then it holds this order alone
    async with aiohttp.ClientSession() as session:
        query = f"symbol=SOLUSDT&side=BUY&type=MARKET&quantity=1&timestamp={plant.clock.now_ms()}"
        signature = hmac_hex(venue.alice_hmac.secret, query.encode())
        async with session.post(
            f"http://127.0.0.1:{port}/fapi/v1/order?{query}&signature={signature}",
            headers={"X-MBX-APIKEY": venue.alice_hmac.api_key},
        ) as answer:
            assert answer.status == 200
            second_ms = (await answer.json())["updateTime"]  # when it was placed and counted
            counts = (answer.headers["X-MBX-ORDER-COUNT-10S"], answer.headers["X-MBX-ORDER-COUNT-1M"])
            assert counts == tuple("2" if first_ms // ms == second_ms // ms else "1" for ms in (10_000, 60_000))
        async with session.post(
            f"http://127.0.0.1:{port}/fapi/v1/order/test?{query}&signature={signature}",
            headers={"X-MBX-APIKEY": venue.alice_hmac.api_key},
        ) as answer:
            assert (answer.status, await answer.json()) == (200, {})


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_no_private_endpoint_reaches_another_accounts_orders_positions_or_trades(
    plant: Tickerplant, venue: Venue, closing: list[Any], market: Market
) -> None:
    """Part 1 §10, on both markets: with alice holding a resting order,
    an isolated position and fills, bob's key queries, modifies, cancels (one, a batch, all)
    and reads orders, amendments, trades and positions, moves isolated margin and changes
    his position and Multi-Assets modes, and reaches nothing of hers: each call fails as Binance
    fails it or answers his own (empty) account, and alice's order and position are as
    they were."""
    um = market is Market.UM
    symbol, qty = ("ETHUSDT", "0.010") if um else ("BTCUSD_PERP", "1")
    alice = await python_binance(plant, closing, venue.alice_hmac)
    bob = await python_binance(plant, closing, venue.bob_hmac)
    call = (lambda c, name: getattr(c, f"futures_{name}")) if um else (lambda c, name: getattr(c, f"futures_coin_{name}"))
    below = _price(plant, market, symbol, _best(plant, market, symbol, True) - 1000)
    await call(alice, "change_margin_type")(symbol=symbol, marginType="ISOLATED")  # her own wallet
    placed = await call(alice, "create_order")(
        symbol=symbol, side="BUY", type="LIMIT", timeInForce="GTC", quantity=qty, price=below
    )
    await call(alice, "create_order")(symbol=symbol, side="BUY", type="MARKET", quantity=qty)
    refusals: list[tuple[int, str]] = []
    for name in ("get_order", "cancel_order"):
        with pytest.raises(BinanceAPIException) as caught:
            await call(bob, name)(symbol=symbol, orderId=placed["orderId"])
        refusals.append((caught.value.code, caught.value.message))
    assert refusals == [(-2013, "Order does not exist."), (-2011, "Unknown order sent.")]
    if um:
        with pytest.raises(BinanceAPIException) as caught:
            await bob.futures_modify_order(symbol=symbol, orderId=placed["orderId"], side="BUY", quantity=qty, price=below)
        assert (caught.value.code, caught.value.message) == (-2013, "Order does not exist.")
        # UM only: python-binance's COIN-M batch cancel quotes the id list itself and sends it
        # in a DELETE body that aiohttp form-encodes again (%5B -> %255B), so its signature is
        # over other bytes than those sent: -1022, as Binance, which checks the bytes
        # received (part 1 §4.1), answers it too
        batch = await bob.futures_cancel_orders(symbol=symbol, orderidlist=[placed["orderId"]])
        assert [(b["code"], b["msg"]) for b in batch] == [(-2011, "Unknown order sent.")]
    amendment = "futures_v1_get_order_amendment" if um else "futures_coin_v1_get_order_amendment"
    with pytest.raises(BinanceAPIException) as caught:
        await getattr(bob, amendment)(symbol=symbol, orderId=placed["orderId"])
    assert (caught.value.code, caught.value.message) == (-2013, "Order does not exist.")
    # her isolated wallet is not his to move: his own symbol is cross
    wallet = plant.engines[market].ledger(venue.alice).position(symbol).isolated_wallet
    with pytest.raises(BinanceAPIException) as caught:
        await call(bob, "change_position_margin")(symbol=symbol, amount="1", type=2)
    assert (caught.value.code, caught.value.message) == (-4049, "Add margin only support for isolated position.")
    assert await call(bob, "position_margin_history")(symbol=symbol) == []
    assert plant.engines[market].ledger(venue.alice).position(symbol).isolated_wallet == wallet > 0
    await call(bob, "cancel_all_open_orders")(symbol=symbol)
    assert await call(bob, "get_open_orders")(symbol=symbol) == []
    assert await call(bob, "get_all_orders")(symbol=symbol) == []
    assert await call(bob, "account_trades")(symbol=symbol) == []
    # his income is his own: his opening transfer alone, none of her fills' commission
    assert {row["incomeType"] for row in await call(bob, "income_history")()} <= {"TRANSFER"}
    bobs = await call(bob, "position_information")(**({"symbol": symbol} if um else {"pair": "BTCUSD"}))
    assert all(Decimal(p["positionAmt"]) == 0 for p in bobs)
    assert (await call(alice, "get_order")(symbol=symbol, orderId=placed["orderId"]))["status"] == "NEW"
    hers = await call(alice, "position_information")(**({"symbol": symbol} if um else {"pair": "BTCUSD"}))
    assert [Decimal(p["positionAmt"]) for p in hers if p["symbol"] == symbol] == [Decimal(qty)]
    # the ADL queue lists his positions alone (none), and hers to her
    ask = bob._request_futures_api if um else bob._request_futures_coin_api
    assert await ask("get", "adlQuantile", signed=True, data={}) == []
    ask = alice._request_futures_api if um else alice._request_futures_coin_api
    assert [row["symbol"] for row in await ask("get", "adlQuantile", signed=True, data={})] == [symbol]
    # his account-wide modes are his: her one-way mode and single-asset margin stay hers
    await call(bob, "change_position_mode")(dualSidePosition=True)
    assert (await call(alice, "get_position_mode")())["dualSidePosition"] is False
    if um:
        await bob.futures_change_multi_assets_mode(True)
        assert (await alice.futures_get_multi_assets_mode())["multiAssetsMargin"] is False
