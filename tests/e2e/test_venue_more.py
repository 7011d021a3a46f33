# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The rest of the first-trade surface over a real socket, with python-binance unchanged but
for its base URLs: commission rate, account and symbol configuration, trading status,
order-rate limits, income; modifying an order (PUT, with its AMENDMENT event on the user
data stream), and the batch endpoints (place, modify and cancel, element errors in place)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec
import pytest
from binance.exceptions import BinanceAPIException
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families
from rawws import TEXT
from test_venue_clients import STILL, Venue, closing, plant, python_binance, user_stream, venue  # noqa: F401
from yarl import URL

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import MAX_MOVE_ORDER_LIMIT, Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.signing import hmac_hex


def price_from_best(plant: Tickerplant, bids: bool, by: int) -> str:
    best = next(plant.engines[Market.UM].data.levels("BTCUSDT", bids))[0]
    return fixed(best + by, plant.engines[Market.UM].instruments["BTCUSDT"].price_decimals)


async def test_configuration_reads(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    assert await client.futures_commission_rate(symbol="BTCUSDT") == {
        "symbol": "BTCUSDT", "makerCommissionRate": "0.000200", "takerCommissionRate": "0.000500",
        "rpiCommissionRate": "0",
    }  # fmt: skip
    config = await client.futures_account_config()
    assert list(config) == [
        "feeTier", "canTrade", "canDeposit", "canWithdraw", "dualSidePosition", "updateTime", "multiAssetsMargin",
        "tradeGroupId",
    ]  # fmt: skip
    assert (config["feeTier"], config["canTrade"], config["dualSidePosition"]) == (0, True, False)
    await client.futures_change_leverage(symbol="BTCUSDT", leverage=10)
    (btc,) = await client.futures_symbol_config(symbol="BTCUSDT")
    assert btc == {"symbol": "BTCUSDT", "marginType": "CROSSED", "isAutoAddMargin": False, "leverage": 10,
                   "maxNotionalValue": btc["maxNotionalValue"]}  # fmt: skip
    assert len(await client.futures_symbol_config()) == len(plant.engines[Market.UM].instruments)
    # COIN-M's, in USDⓈ-M's shape: nautilus_trader asks it at connect (part 5 §3 row 18)
    coin = await client._request_futures_coin_api("get", "symbolConfig", True, data={"symbol": "BTCUSD_PERP"})
    assert [(row["symbol"], row["marginType"], row["leverage"]) for row in coin] == [("BTCUSD_PERP", "CROSSED", 20)]
    every = await client._request_futures_coin_api("get", "symbolConfig", True, data={})
    assert len(every) == len(plant.engines[Market.CM].instruments)
    assert (await client.futures_api_trading_status())["indicators"] == {}
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_commission_rate()
    assert caught.value.code == -1102
    # Multi-Assets mode (part 3 §4.7): off, Binance's refusals, then on and off again
    assert await client.futures_get_multi_assets_mode() == {"multiAssetsMargin": False}
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_change_multi_assets_mode(False)
    assert (caught.value.code, caught.value.message) == (
        -4171, "Adjusted asset mode is currently set and does not need to be adjusted repeatedly.")  # fmt: skip
    await client.futures_change_margin_type(symbol="ETHUSDT", marginType="ISOLATED")
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_change_multi_assets_mode(True)
    assert caught.value.code == -4167
    await client.futures_change_margin_type(symbol="ETHUSDT", marginType="CROSSED")
    assert await client.futures_change_multi_assets_mode(True) == {"code": 200, "msg": "success"}
    assert await client.futures_get_multi_assets_mode() == {"multiAssetsMargin": True}
    assert await client.futures_change_multi_assets_mode(False) == {"code": 200, "msg": "success"}


async def test_modify_an_order_and_its_amendment_event(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await user_stream(plant, venue.alice_hmac)
    low, lower = price_from_best(plant, True, -50_000), price_from_best(plant, True, -60_000)
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=low
    )
    assert msgspec.json.decode((await user.recv()).payload)["o"]["x"] == "NEW"
    changed = await client.futures_modify_order(
        symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.020", price=lower, modifyId=7
    )
    assert list(changed)[:6] == ["orderId", "symbol", "status", "clientOrderId", "modifyId", "price"]
    assert (changed["status"], changed["price"], changed["origQty"], changed["modifyId"]) == ("NEW", lower, "0.020", 7)
    amended = msgspec.json.decode((await user.recv_until(TEXT)).payload)["o"]
    assert (amended["x"], amended["X"], amended["q"], amended["i"]) == ("AMENDMENT", "NEW", "0.02", placed["orderId"])
    assert list(amended)[list(amended).index("i") + 1] == "M" and amended["M"] == "7"  # part 4 §3.1: text, after i
    got = await client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert (got["price"], got["origQty"]) == (lower, "0.020")
    (history,) = await client.futures_v1_get_order_amendment(symbol="BTCUSDT", orderId=placed["orderId"])
    assert list(history) == ["amendmentId", "symbol", "pair", "orderId", "clientOrderId", "time", "amendment"]
    assert history["amendment"] == {
        "price": {"before": low.rstrip("0").rstrip("."), "after": lower.rstrip("0").rstrip(".")},
        "origQty": {"before": "0.01", "after": "0.02"}, "count": 1, "modifyId": 7,
    }  # fmt: skip
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_modify_order(
            symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.020", price=lower
        )
    assert (caught.value.code, caught.value.message) == (-5027, "No need to modify the order.")
    with pytest.raises(BinanceAPIException) as caught:  # reduceOnly on a change: a check alone (part 2 §5)
        await client.futures_modify_order(
            symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.030", price=lower, reduceOnly="true"
        )
    assert (caught.value.code, caught.value.message) == (-5047, "The original order is not a reduce-only order.")
    # modified maxMoveOrderLimit times (each over the wire: ~20 s; the count set as they would leave it,
    # tests/venue/test_amendment.py makes them one by one): the next is -5026 (part 2 §5)
    (held,) = plant.engines[Market.UM].open_orders(venue.alice, "BTCUSDT")
    held.amendments, made = MAX_MOVE_ORDER_LIMIT, held.amendments
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_modify_order(
            symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.030", price=lower
        )
    assert (caught.value.code, caught.value.message) == (-5026, "Exceed maximum modify order limit.")
    held.amendments = made
    queued = await client.futures_modify_order(  # priced by the book: no price (part 2 §5, since 2026-04-21)
        symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.020", priceMatch="QUEUE"
    )
    assert (queued["status"], queued["priceMatch"]) == ("NEW", "QUEUE")
    assert msgspec.json.decode((await user.recv_until(TEXT)).payload)["o"]["x"] == "AMENDMENT"
    # across the book: it takes, as a taker would
    above = price_from_best(plant, False, 50_000)
    crossed = await client.futures_modify_order(
        symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.020", price=above
    )
    assert crossed["status"] == "FILLED" and crossed["executedQty"] == "0.020"
    events = [msgspec.json.decode((await user.recv_until(TEXT)).payload) for _ in range(2)]  # TRADE_LITE first
    (moved,) = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"]
    assert moved["x"] == "AMENDMENT" and "M" not in moved  # no modifyId sent: no M
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_modify_order(
            symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.030", price=lower
        )
    assert caught.value.code == -2013
    income = await client.futures_income_history(symbol="BTCUSDT", incomeType="COMMISSION")
    trades = await client.futures_account_trades(symbol="BTCUSDT")
    assert [row["tradeId"] for row in income] == [str(t["id"]) for t in trades]
    assert all(Decimal(row["income"]) == -Decimal(t["commission"]) for row, t in zip(income, trades, strict=True))
    await user.close()


async def test_batch_orders(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    low, lower = price_from_best(plant, True, -50_000), price_from_best(plant, True, -60_000)
    placed = await client.futures_place_batch_order(batchOrders=[
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010", "price": low},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0", "price": low},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
         "price": lower, "reduceOnly": False},
    ])  # fmt: skip
    assert placed[1] == {"code": -4003, "msg": "Quantity less than or equal to zero."}
    ids = [placed[0]["orderId"], placed[2]["orderId"]]
    assert [o["status"] for o in (placed[0], placed[2])] == ["NEW", "NEW"]
    assert sorted(o["orderId"] for o in await client.futures_get_open_orders(symbol="BTCUSDT")) == sorted(ids)
    cancelled = await client.futures_cancel_orders(symbol="BTCUSDT", orderidlist=ids)
    assert [o["status"] for o in cancelled] == ["CANCELED", "CANCELED"]
    again = await client.futures_cancel_orders(symbol="BTCUSDT", orderidlist=ids)
    assert again == [{"code": -2011, "msg": "Unknown order sent."}] * 2
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_place_batch_order(batchOrders=[
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        ] * 6)  # fmt: skip
    assert caught.value.code == -4082


async def test_an_order_past_the_position_its_leverage_allows_is_refused(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """Part 3 §6.3: at 125× BTCUSDT allows 50,000 USDT; 5 BTC resting far below the market
    is past it whatever the balance (-2027, before the margin's -2019), in a batch alike."""
    client = await python_binance(plant, closing, venue.bob_hmac)
    await client.futures_change_leverage(symbol="BTCUSDT", leverage=125)
    try:
        low = price_from_best(plant, True, -50_000)
        big = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "5", "price": low}
        with pytest.raises(BinanceAPIException) as caught:
            await client.futures_create_order(**big)
        assert (caught.value.status_code, caught.value.code, caught.value.message) == (
            400, -2027, "Exceeded the maximum allowable position at current leverage."
        )  # fmt: skip
        placed = await client.futures_place_batch_order(batchOrders=[big])
        assert placed == [{"code": -2027, "msg": "Exceeded the maximum allowable position at current leverage."}]
    finally:
        await client.futures_change_leverage(symbol="BTCUSDT", leverage=20)


async def test_a_batch_counts_once_on_each_order_counter(start_server: Any, venue: Venue) -> None:
    """Part 1 §7's weights: a batch (``POST`` or ``PUT …/batchOrders``) adds 5 to the 10 s order
    counter and 1 to the minute's, however many orders it holds (one, or none valid); a
    single order 1 to each. Read from the headers of plain HMAC requests."""
    # on a clock that stands still (the requests signed by it): the counts below are one 10 s
    # window's, which the system clock turned among the first requests now and then
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(clock=clock, simulator=STILL, venue_db=str(venue.path))
    port = plant.listeners[Market.UM].port
    low = price_from_best(plant, True, -50_000)
    one = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010", "price": low}

    async def sent(
        session: aiohttp.ClientSession, method: str, path: str, query: str, status: int = 200
    ) -> tuple[Any, tuple[str, str]]:  # fmt: skip
        query = f"{query}&timestamp={plant.clock.now_ms()}"
        signature = hmac_hex(venue.alice_hmac.secret, query.encode())
        url = f"http://127.0.0.1:{port}{path}?{query}&signature={signature}"
        headers = {"X-MBX-APIKEY": venue.alice_hmac.api_key}
        async with session.request(method, URL(url, encoded=True), headers=headers) as answer:  # signed as sent
            if answer.status != 200:
                return await answer.json(), (str(answer.status), answer.headers.get("Retry-After", ""))
            counts = answer.headers["X-MBX-ORDER-COUNT-10S"], answer.headers["X-MBX-ORDER-COUNT-1M"]
            return await answer.json(), counts

    def batch(*orders: dict[str, str]) -> str:
        return "batchOrders=" + quote(msgspec.json.encode(list(orders)).decode(), safe="")

    async with aiohttp.ClientSession() as session:
        placed, counts = await sent(session, "POST", "/fapi/v1/batchOrders", batch(one, one))
        assert [o["status"] for o in placed] == ["NEW", "NEW"] and counts == ("5", "1")
        moved = {"symbol": "BTCUSDT", "side": "BUY", "orderId": placed[0]["orderId"], "quantity": "0.020", "price": low}
        _, counts = await sent(session, "PUT", "/fapi/v1/batchOrders", batch(moved))
        assert counts == ("10", "2")
        refused, counts = await sent(session, "POST", "/fapi/v1/batchOrders", batch(one | {"quantity": "0"}))
        assert refused == [{"code": -4003, "msg": "Quantity less than or equal to zero."}] and counts == ("15", "3")
        _, counts = await sent(session, "POST", "/fapi/v1/order", "&".join(f"{k}={v}" for k, v in one.items()))
        assert counts == ("16", "4")
        # past 300 in 10 s: the batch is refused whole, 429 with the seconds to the window's end
        for _ in range(200):  # 60 or so; more when a window turns meanwhile
            body, counts = await sent(session, "POST", "/fapi/v1/batchOrders", batch(one | {"quantity": "0"}))
            if counts[0] == "429":
                break
        assert body == {"code": -1015, "msg": "Too many new orders; current limit is 300 orders per TEN_SECONDS."}
        assert 1 <= int(counts[1]) <= 10  # Retry-After (part 1 Unresolved 9)


async def test_countdown_cancel_all(start_server: Any, venue: Venue, closing: list[Any]) -> None:
    """Part 2 §6.7 on a ManualClock: the countdown runs out and the symbol's open orders are
    cancelled, each with its CANCELED event; a call in time pushes it back; 0 stops it."""
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(clock=clock, simulator=STILL, venue_db=str(venue.path),
                               limits={"ping_interval_s": 3600.0, "pong_timeout_s": 3600.0})  # fmt: skip
    client = await python_binance(plant, closing, venue.alice_hmac)
    client.timestamp_offset = clock.now_ms() - SystemClock().now_ms()  # its timestamps on the server's clock
    low = price_from_best(plant, True, -50_000)
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=low
    )
    answer = await client.futures_countdown_cancel_all(symbol="BTCUSDT", countdownTime=120000)
    assert answer == {"symbol": "BTCUSDT", "countdownTime": "120000"}

    async def status_after(seconds: int) -> str:
        """Move the clock (under the 60 s that close an idle kept-alive connection), then read."""
        clock.advance(seconds * 1000)
        client.timestamp_offset += seconds * 1000
        return str((await client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"]))["status"])

    assert await status_after(50) == "NEW"
    assert await status_after(50) == "NEW"  # 100 s
    await client.futures_countdown_cancel_all(symbol="BTCUSDT", countdownTime=120000)  # in time: from now
    assert await status_after(50) == "NEW"  # 150 s: past the first deadline, not the second
    assert await status_after(50) == "NEW"
    assert await status_after(30) == "CANCELED"  # 230 s: the second ran out at 220
    assert (await client.futures_countdown_cancel_all(symbol="BTCUSDT", countdownTime=0))["countdownTime"] == "0"


async def test_the_venues_metrics(start_server: Any, venue: Venue, closing: list[Any]) -> None:
    """``/metrics``: orders by type and execution, fills by liquidity, refusals by code."""
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    client = await python_binance(plant, closing, venue.alice_hmac)
    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010")
    low = price_from_best(plant, True, -50_000)
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=low
    )
    await client.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    with pytest.raises(BinanceAPIException):
        await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                                          quantity="0", price=low)  # fmt: skip
    async with aiohttp.ClientSession() as session, session.get(f"{plant.admin_url()}/metrics") as response:
        text = await response.text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted({"market": "um", **labels}.items()))), 0.0)

    assert value("tickerplant_venue_orders_total", type="MARKET", execution="NEW") == 1
    assert value("tickerplant_venue_orders_total", type="LIMIT", execution="NEW") == 1
    assert value("tickerplant_venue_orders_total", type="LIMIT", execution="CANCELED") == 1
    trades = value("tickerplant_venue_orders_total", type="MARKET", execution="TRADE")
    assert trades >= 1 and value("tickerplant_venue_fills_total", liquidity="taker") == trades
    assert value("tickerplant_venue_rejects_total", code="-4003") == 1


async def test_leverage_brackets_in_every_form_clients_ask(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    """Part 3 §4.9: USDⓈ-M's by symbol in notional, COIN-M's v2 by symbol and legacy v1 by
    ``pair`` in the coin (``qtyFloor``/``qtyCap``), each bracket as the margin uses it."""
    client = await python_binance(plant, closing, venue.alice_hmac)
    um = await client.futures_leverage_bracket(symbol="BTCUSDT")
    contract = plant.engines[Market.UM].contracts["BTCUSDT"]
    assert um["symbol"] == "BTCUSDT" and len(um["brackets"]) == len(contract.brackets)
    first = um["brackets"][0]
    assert list(first) == ["bracket", "initialLeverage", "notionalCap", "notionalFloor", "maintMarginRatio", "cum"]
    assert (first["bracket"], first["notionalFloor"], first["notionalCap"]) == (1, 0, contract.brackets[0].cap)
    (cm,) = await client.futures_coin_leverage_bracket(symbol="BTCUSD_PERP")  # a list even for one
    assert cm["symbol"] == "BTCUSD_PERP" and "qtyCap" in cm["brackets"][0]
    # the legacy by-pair form (ccxt's and older bots'), signed by hand
    base = f"http://127.0.0.1:{plant.listeners[Market.CM].port}/dapi/v1/leverageBracket"
    async with aiohttp.ClientSession() as session:

        async def pairs(query: str) -> tuple[int, Any]:
            query = f"{query}timestamp={SystemClock().now_ms()}"
            query = f"{query}&signature={hmac_hex(venue.alice_hmac.secret, query.encode())}"
            headers = {"X-MBX-APIKEY": venue.alice_hmac.api_key}
            async with session.get(f"{base}?{query}", headers=headers) as response:
                return response.status, await response.json()

        status, one = await pairs("pair=BTCUSD&")
        assert status == 200 and one == [{"pair": "BTCUSD", "brackets": cm["brackets"]}]
        status, every = await pairs("")
        assert status == 200 and "BTCUSD" in [row["pair"] for row in every]
        assert await pairs("pair=NOPE&") == (400, {"code": -1121, "msg": "Invalid symbol."})


async def test_the_two_markets_orders_are_one_budget(plant: Tickerplant, venue: Venue) -> None:
    """Part 2 §3 and §11: since the CM migration "UM and CM share one order budget": a COIN-M
    order's minute count (``X-MBX-ORDER-COUNT-1M``) holds the account's USDⓈ-M orders of the
    minute too, and theirs its; the 10 s counter stays USDⓈ-M's (COIN-M's orders count on the
    minute's alone, part 1 §7.5). A round that meets a window's turn is tried again."""
    um, cm = plant.listeners[Market.UM].port, plant.listeners[Market.CM].port
    low = price_from_best(plant, True, -50_000)
    cm_bid = next(plant.engines[Market.CM].data.levels("BTCUSD_PERP", True))[0]
    cm_low = fixed(cm_bid * 9 // 10 // 10 * 10, plant.engines[Market.CM].instruments["BTCUSD_PERP"].price_decimals)
    orders = {um: f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={low}",
              cm: f"symbol=BTCUSD_PERP&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price={cm_low}"}  # fmt: skip

    async def place(session: aiohttp.ClientSession, port: int) -> tuple[int, int]:
        """(the minute's count, the 10 s count or 0) after one order on ``port``'s market."""
        query = f"{orders[port]}&timestamp={plant.clock.now_ms()}"
        query += f"&signature={hmac_hex(venue.alice_hmac.secret, query.encode())}"
        path = "/fapi/v1/order" if port == um else "/dapi/v1/order"
        headers = {"X-MBX-APIKEY": venue.alice_hmac.api_key}
        async with session.post(f"http://127.0.0.1:{port}{path}?{query}", headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            return int(answer.headers["X-MBX-ORDER-COUNT-1M"]), int(answer.headers.get("X-MBX-ORDER-COUNT-10S", 0))

    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            first = await place(session, um)
            second = await place(session, um)
            coin = await place(session, cm)
            after = await place(session, um)
            # one minute and one 10 s window throughout: the COIN-M order on the minute's alone
            if [first[0], second[0], coin[0], after[0]] == [first[0] + n for n in range(4)] and (
                coin[1] == 0 and after[1] == second[1] + 1 == first[1] + 2
            ):
                break
        else:
            raise AssertionError("three rounds met a window's turn, or the budget is not one")
