# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The start-up calls outside futures over a real socket (overview decision 11, part 5 §4
items 1 and 2): their shapes, security types and weights on both market listeners, as
Binance's, and python-binance's ``AsyncClient.create()`` at its defaults."""

from __future__ import annotations

from typing import Any

import aiohttp
import ccxt.async_support as ccxt
from binance import AsyncClient
from ccxt_hosts import point
from conftest import StartServer
from test_venue_clients import STILL, Venue, closing, plant, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.signing import hmac_hex

MISSING_TIMESTAMP = {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."}


async def _get(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, Any, int]:
    async with session.get(url, headers=headers) as response:
        return response.status, await response.json(), int(response.headers["X-MBX-USED-WEIGHT-1M"])


async def test_both_listeners_answer_the_sapi_calls_at_binances_weights(start_server: StartServer, venue: Venue) -> None:
    # on a clock that stands still (the requests signed by it): each listener's weights below
    # add up in one minute, which the system clock turned among the requests now and then
    plant = await start_server(clock=ManualClock(SystemClock().now_ms()), simulator=STILL, venue_db=str(venue.path))
    key = {"X-MBX-APIKEY": venue.alice_hmac.api_key}
    answers = []
    async with aiohttp.ClientSession() as session:
        for market in (Market.UM, Market.CM):
            base = f"http://127.0.0.1:{plant.listeners[market].port}/sapi/v1"
            query = f"timestamp={plant.clock.now_ms()}&recvWindow=10000"
            signed = f"{query}&signature={hmac_hex(venue.alice_hmac.secret, query.encode())}"
            status, coins, used = await _get(session, f"{base}/capital/config/getall?{signed}", key)
            assert (status, used) == (200, 10)  # USER_DATA, weight 10
            answers.append(coins)
            assert await _get(session, f"{base}/margin/allPairs", key) == (200, [], 11)  # MARKET_DATA, 1
            assert await _get(session, f"{base}/margin/isolated/allPairs?{signed}", key) == (200, [], 21)  # 10
            # signed where Binance signs: the futures endpoints' refusals
            assert await _get(session, f"{base}/capital/config/getall", key) == (400, MISSING_TIMESTAMP, 31)
            assert await _get(session, f"{base}/margin/isolated/allPairs", key) == (400, MISSING_TIMESTAMP, 41)
            no_key = {"code": -2014, "msg": "API-key format invalid."}
            assert await _get(session, f"{base}/margin/allPairs", {}) == (401, no_key, 42)
            async with session.post(f"{base}/capital/config/getall?{signed}", headers=key) as response:
                assert (response.status, (await response.json())["code"]) == (404, -5000)
    assert answers[0] == answers[1]  # the venue's assets, whichever listener is asked
    coins = {row["coin"]: row for row in answers[0]}
    assert set(coins) >= {"USDT", "USDC", "BNB", "BTC", "ETH", "FDUSD", "BFUSD", "SOL"} and "USD" not in coins
    assert list(coins["BTC"]) == [
        "coin", "depositAllEnable", "withdrawAllEnable", "name", "free", "locked", "freeze", "withdrawing",
        "ipoing", "ipoable", "storage", "isLegalMoney", "trading", "networkList",
    ]  # fmt: skip
    assert (coins["BTC"]["free"], coins["BTC"]["networkList"], coins["BTC"]["trading"]) == ("0", [], True)


async def test_the_spot_calls_at_spots_weights(start_server: StartServer) -> None:
    # on a clock that stands still: the weights add up in one minute, which the system clock
    # turned among the requests now and then
    plant = await start_server(clock=ManualClock(), simulator=STILL)
    base = f"http://127.0.0.1:{plant.listeners[Market.CM].port}/api/v3"
    async with aiohttp.ClientSession() as session:
        assert await _get(session, f"{base}/ping", {}) == (200, {}, 1)
        status, now, used = await _get(session, f"{base}/time", {})
        assert (status, list(now), used) == (200, ["serverTime"], 2)
        status, info, used = await _get(session, f"{base}/exchangeInfo", {})
        assert (status, info["symbols"], used) == (200, [], 22)  # no spot symbols; spot's weight 20


async def test_python_binance_starts_as_its_readme_shows(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    port = plant.listeners[Market.UM].port

    class Local(AsyncClient):  # python-binance's base URLs, the only change a user makes
        API_URL = f"http://127.0.0.1:{port}/api"
        FUTURES_URL = f"http://127.0.0.1:{port}/fapi"

    # `create` pings spot and reads spot's time for its clock offset (part 5 §2.2)
    client = await Local.create(venue.alice_hmac.api_key, venue.alice_hmac.secret)
    closing.append(client)
    assert abs(client.timestamp_offset) < 60_000
    assert (await client.futures_account_balance())[0]["balance"] == "10000.00000000"


async def test_ccxt_fetch_status_finds_the_venue_up(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    """ccxt's ``fetch_status`` asks the wallet's ``GET /sapi/v1/system/status`` (public,
    weight 1) on its ``api.binance.com`` host, pointed at either listener as the README
    shows: ``{"status": 0, "msg": "normal"}``, ccxt's ``ok``."""
    for market, made in ((Market.UM, ccxt.binanceusdm), (Market.CM, ccxt.binancecoinm)):
        local = f"http://127.0.0.1:{plant.listeners[market].port}"
        exchange = made({"apiKey": venue.alice_hmac.api_key, "secret": venue.alice_hmac.secret})
        closing.append(exchange)
        point(exchange, {"https://fapi.binance.com": local, "https://dapi.binance.com": local,
                         "https://api.binance.com": local})  # fmt: skip
        status = await exchange.fetch_status()
        assert (status["status"], status["info"]) == ("ok", {"status": 0, "msg": "normal"})
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{plant.listeners[Market.UM].port}/sapi/v1/system/status"
        for _ in range(3):  # weight 1: what one more adds to the IP's minute, both within one
            minute = SystemClock().now_ms() // 60_000  # (the count starts again as a minute turns)
            _, _, before = await _get(session, url, {})
            status, answer, after = await _get(session, url, {})
            if SystemClock().now_ms() // 60_000 == minute:
                break
        assert (status, answer, after - before) == (200, {"status": 0, "msg": "normal"}, 1)


async def test_ccxt_fetch_status_tells_a_maintenance_window_that_covers_the_venue(start_server: StartServer) -> None:
    """While a fault profile's maintenance window covers the whole venue, the system status
    is Binance's wallet answer for it, ``{"status": 1, "msg": "system_maintenance"}``, ccxt's
    ``maintenance``; before and after it, and for a window narrowed to an account, normal."""
    profile = ('[[fault]]\nkind = "maintenance"\nat = "+10s"\nfor_s = 60\n'
               '[[fault]]\nkind = "maintenance"\nat = "+0s"\nfor_s = 3600\naccounts = [7]\n')  # fmt: skip
    clock = ManualClock()
    plant = await start_server(clock=clock, faults={"profile_text": profile}, simulator={"actions_per_s": 1e-9})
    local = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    exchange = point(ccxt.binanceusdm(), {"https://fapi.binance.com": local, "https://api.binance.com": local})
    try:
        told = []
        for step_ms in (0, 10_000, 60_000):  # before it, in it, after it
            clock.advance(step_ms)
            status = await exchange.fetch_status()
            told.append((status["status"], status["info"]))
    finally:
        await exchange.close()
    assert told == [("ok", {"status": 0, "msg": "normal"}), ("maintenance", {"status": 1, "msg": "system_maintenance"}),
                    ("ok", {"status": 0, "msg": "normal"})]  # fmt: skip


async def test_ccxt_coin_m_at_its_defaults_reads_fees_and_liquidations_without_a_symbol(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """ccxt's ``binancecoinm`` inherits ``defaultType`` spot from its ``binance`` class, so
    without a symbol ``fetch_trading_fees()`` asks spot's ``GET /sapi/v1/asset/tradeFee``
    and ``fetch_my_liquidations()`` the margin wallet's ``forceLiquidationRec``; Binance
    answers both 200, and so does the venue: no spot symbols, no margin liquidations."""
    local = f"http://127.0.0.1:{plant.listeners[Market.CM].port}"
    exchange = ccxt.binancecoinm({"apiKey": venue.alice_hmac.api_key, "secret": venue.alice_hmac.secret})
    closing.append(exchange)
    point(exchange, {"https://dapi.binance.com": local, "https://api.binance.com": local})
    assert await exchange.fetch_trading_fees() == {}
    assert await exchange.fetch_my_liquidations() == []
