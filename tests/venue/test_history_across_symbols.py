"""History reads over more than one symbol, over a real socket. COIN-M's by ``pair`` (trading
spec part 2 §6, the COIN-M table): ``allOrders`` and ``userTrades`` take ``symbol`` or ``pair``
(every contract of the pair, by time); ``pair`` with an id to start from, or with
``orderId``, is ``-1128``. USDⓈ-M's ``allOrders`` without a ``symbol`` (part 2 §6.5, optional
since 2026-08-25): every symbol's, by time, ``orderId`` then ``-1128`` as with a ``pair``;
``userTrades`` still needs its ``symbol`` (``-1102``), as COIN-M's reads need one or a pair."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from ports import free_port
from served_venue import account, serve, signed

from tickerplant.market.instruments import Market

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
