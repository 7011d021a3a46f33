"""COIN-M's history reads by ``pair`` (trading spec part 2 §6, the COIN-M table): ``allOrders``
and ``userTrades`` take ``symbol`` or ``pair`` (every contract of the pair, by time);
``pair`` with an id to start from, or with ``orderId``, is ``-1128``; over a real socket."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from ports import free_port
from served_venue import account, serve, signed

from tickerplant.market.instruments import Market


async def test_all_orders_and_user_trades_by_pair(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    _, key = account(path, "coins", Market.CM, "BTC", "2")
    port, cm_port = free_port(), free_port()
    dapi = f"http://127.0.0.1:{cm_port}/dapi/v1"
    async with serve(path, port, cm_port=cm_port), aiohttp.ClientSession() as session:
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
                                ("userTrades", f"pair=BTCUSD&orderId={placed['orderId']}")):  # fmt: skip
            status, refused = await signed(session, "GET", f"{dapi}/{endpoint}", key, query)
            assert (status, refused["code"]) == (400, -1128), (endpoint, query)
        status, unknown = await signed(session, "GET", f"{dapi}/allOrders", key, "pair=NOPEUSD")
        assert (status, unknown["code"]) == (400, -1121)
