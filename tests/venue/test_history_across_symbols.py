"""History reads over more than one symbol, over a real socket. COIN-M's by ``pair`` (trading
spec part 2 §6, the COIN-M table): ``allOrders`` and ``userTrades`` take ``symbol`` or ``pair``
(every contract of the pair, by time); ``pair`` with an id to start from, or with
``orderId``, is ``-1128``. USDⓈ-M's ``allOrders`` without a ``symbol`` (part 2 §6.5, optional
since 2026-08-25): every symbol's, by time, ``orderId`` then ``-1128`` as with a ``pair``;
``userTrades`` still needs its ``symbol`` (``-1102``), as COIN-M's reads need one or a pair.
COIN-M's ``openOrders`` takes a ``pair`` too (the pair's contracts' open orders), weighed as
without a ``symbol`` (40), a ``symbol`` sent in any case weighed 1 (decision 4), an empty one
as none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from ports import free_port
from served_venue import SECRET, account, serve, signed

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.signing import hmac_hex

MISSING_SYMBOL = {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."}


async def test_all_orders_and_user_trades_by_pair_and_without_a_symbol(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    _, key = account(path, "coins", Market.CM, "BTC", "2")
    _, um_key = account(path, "dollars", Market.UM, "USDT", "10000")
    port, cm_port = free_port(), free_port()
    dapi, fapi = f"http://127.0.0.1:{cm_port}/dapi/v1", f"http://127.0.0.1:{port}/fapi/v1"
    async with serve(path, port, cm_port=cm_port), aiohttp.ClientSession() as session:
        placed_um = []
        for symbol, qty in (("ETHUSDT", "0.100"), ("BTCUSDT", "0.010"), ("ETHUSDT", "0.200")):
            status, one = await signed(session, "POST", f"{fapi}/order", um_key,
                                       f"symbol={symbol}&side=BUY&type=MARKET&quantity={qty}")  # fmt: skip
            assert status == 200, one
            placed_um.append((symbol, one["orderId"]))
        status, every = await signed(session, "GET", f"{fapi}/allOrders", um_key, "")
        assert status == 200, every
        assert sorted((o["symbol"], o["orderId"]) for o in every) == sorted(placed_um)  # every symbol's
        by_time = [(o["time"], o["symbol"], o["orderId"]) for o in every]
        assert by_time == sorted(by_time)  # by time (two in one millisecond: by symbol, then id)
        status, last = await signed(session, "GET", f"{fapi}/allOrders", um_key, "limit=2")
        assert [(o["time"], o["symbol"], o["orderId"]) for o in last] == by_time[1:]  # the most recent
        status, refused = await signed(session, "GET", f"{fapi}/allOrders", um_key, f"orderId={placed_um[0][1]}")
        assert (status, refused["code"]) == (400, -1128)
        for url, key_ in ((f"{fapi}/userTrades", um_key), (f"{dapi}/allOrders", key), (f"{dapi}/userTrades", key)):
            assert await signed(session, "GET", url, key_, "") == (400, MISSING_SYMBOL), url
        status, placed = await signed(session, "POST", f"{dapi}/order", key,
                                      "symbol=BTCUSD_PERP&side=BUY&type=MARKET&quantity=1")  # fmt: skip
        assert status == 200, placed
        status, by_pair = await signed(session, "GET", f"{dapi}/allOrders", key, "pair=BTCUSD")
        assert status == 200, by_pair
        assert [(o["symbol"], o["orderId"]) for o in by_pair] == [("BTCUSD_PERP", placed["orderId"])]
        status, trades = await signed(session, "GET", f"{dapi}/userTrades", key, "pair=BTCUSD")
        assert status == 200, trades
        assert trades and {t["orderId"] for t in trades} == {placed["orderId"]}
        for endpoint, query in (("allOrders", f"pair=BTCUSD&orderId={placed['orderId']}"),
                                ("userTrades", "pair=BTCUSD&fromId=1"),
                                ("userTrades", f"pair=BTCUSD&orderId={placed['orderId']}"),
                                ("userTrades", "symbol=BTCUSD_PERP&pair=BTCUSD"),  # symbol xor pair (§11)
                                ("allOrders", "symbol=BTCUSD_PERP&pair=ETHUSD")):  # fmt: skip
            status, refused = await signed(session, "GET", f"{dapi}/{endpoint}", key, query)
            assert (status, refused["code"]) == (400, -1128), (endpoint, query)
        status, unknown = await signed(session, "GET", f"{dapi}/allOrders", key, "pair=NOPEUSD")
        assert (status, unknown["code"]) == (400, -1121)
        for _ in range(55):  # 56 fills: COIN-M's userTrades gives 50 at most without a limit (§11)
            status, more = await signed(session, "POST", f"{dapi}/order", key,
                                        "symbol=BTCUSD_PERP&side=BUY&type=MARKET&quantity=1")  # fmt: skip
            assert status == 200, more
        for query in ("pair=BTCUSD", "symbol=BTCUSD_PERP"):
            status, trades = await signed(session, "GET", f"{dapi}/userTrades", key, query)
            assert (status, len(trades)) == (200, 50), query
            status, trades = await signed(session, "GET", f"{dapi}/userTrades", key, query + "&limit=1000")
            assert (status, len(trades)) == (200, 56), query


async def _weighed(session: aiohttp.ClientSession, url: str, key: str, query: str) -> tuple[int, Any, int]:
    """A signed GET: its status, its body, and the IP's weight used so far after it."""
    query = f"{query}&timestamp={SystemClock().now_ms()}".lstrip("&")
    signed_query = f"{query}&signature={hmac_hex(SECRET, query.encode())}"
    async with session.get(f"{url}?{signed_query}", headers={"X-MBX-APIKEY": key}) as answer:
        return answer.status, await answer.json(), int(answer.headers["X-MBX-USED-WEIGHT-1M"])


async def test_coin_m_open_orders_by_pair_and_their_weight(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    _, key = account(path, "coins", Market.CM, "BTC", "2")
    cm_port = free_port()
    dapi = f"http://127.0.0.1:{cm_port}/dapi/v1"
    async with serve(path, free_port(), cm_port=cm_port), aiohttp.ClientSession() as session:
        async with session.get(f"{dapi}/depth?symbol=BTCUSD_PERP&limit=5") as answer:
            far = f"{float((await answer.json())['bids'][-1][0]) * 0.9:.1f}"
        status, resting = await signed(session, "POST", f"{dapi}/order", key,
                                       f"symbol=BTCUSD_PERP&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price={far}")  # fmt: skip
        assert status == 200 and resting["status"] == "NEW", resting
        mine = [("BTCUSD_PERP", resting["orderId"])]
        for query, found in (("pair=BTCUSD", mine), ("pair=ETHUSD", []), ("", mine), ("symbol=BTCUSD_PERP", mine),
                             ("SYMBOL=BTCUSD_PERP", mine)):  # fmt: skip
            status, orders = await signed(session, "GET", f"{dapi}/openOrders", key, query)
            assert (status, [(o["symbol"], o["orderId"]) for o in orders]) == (200, found), query
        for query, code in (("pair=NOPEUSD", -1121), ("symbol=BTCUSD_PERP&pair=BTCUSD", -1128)):
            status, refused = await signed(session, "GET", f"{dapi}/openOrders", key, query)
            assert (status, refused["code"]) == (400, code), query
        # the weight (part 1 §7.5: 1 with a symbol, 40 without): a symbol's name in any case, an
        # empty one counted as none (the answer reads it so: every symbol's)
        asked = (("Symbol=BTCUSD_PERP", 1), ("SYMBOL=BTCUSD_PERP", 1), ("symbol=", 40), ("pair=BTCUSD", 40),
                 ("", 40), ("symbol=BTCUSD_PERP", 1))  # fmt: skip
        for _ in range(2):  # again if the weight's minute turned meanwhile (it cannot twice in a second)
            minute = SystemClock().now_ms() // 60_000
            _, _, before = await _weighed(session, f"{dapi}/openOrders", key, "symbol=BTCUSD_PERP")
            took = []
            for query, _weight in asked:
                status, _, used = await _weighed(session, f"{dapi}/openOrders", key, query)
                took.append((query, status, used - before))
                before = used
            if SystemClock().now_ms() // 60_000 == minute:
                break
        assert took == [(query, 200, weight) for query, weight in asked]
