"""The simulated market's one book holds both markets' venue orders; each market's engine
settles the fills of its own (``feeds/simulator/one_book.py``), over a real socket: a COIN-M
order the simulated flow fills is FILLED while a USDⓈ-M order rests too (the USDⓈ-M
engine, reading the book's fills first at every delivery, took the COIN-M one's and lost
it: the order stayed NEW, its quantity gone from the book)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from ports import free_port
from served_venue import account, serve, signed
from timing import SECONDS

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

WEIGHT = ("--request-weight", "1000000000")  # the fill is looked for as fast as answered


async def test_a_coin_m_order_fills_while_a_usdm_order_rests(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    alice, key = account(path, "both", Market.UM, "USDT", "100000")
    store = AccountStore(path)
    try:
        store.deposit(alice, Market.CM, "BTC", parse_amount("2"), 0)
    finally:
        store.close()
    port, cm_port = free_port(), free_port()
    fapi, dapi = f"http://127.0.0.1:{port}/fapi/v1", f"http://127.0.0.1:{cm_port}/dapi/v1"
    async with serve(path, port, cm_port=cm_port, sim_rate="20000", options=WEIGHT), aiohttp.ClientSession() as session:
        async with session.get(f"{fapi}/depth?symbol=BTCUSDT&limit=5") as answer:
            far = f"{float((await answer.json())['bids'][-1][0]) * 0.9:.1f}"
        query = f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price={far}"
        status, resting = await signed(session, "POST", f"{fapi}/order", key, query)
        assert status == 200 and resting["status"] == "NEW", resting
        async with session.get(f"{dapi}/depth?symbol=BTCUSD_PERP&limit=5") as answer:
            best = (await answer.json())["bids"][0][0]  # the best bid: the flow's sells reach it first
        query = f"symbol=BTCUSD_PERP&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price={best}"
        status, placed = await signed(session, "POST", f"{dapi}/order", key, query)
        assert status == 200, placed
        async with asyncio.timeout(60 * SECONDS):  # a few seconds of the flow at 20,000 actions/s
            while True:  # asked again as soon as answered: no time waited for
                order_query = f"symbol=BTCUSD_PERP&orderId={placed['orderId']}"
                status, order = await signed(session, "GET", f"{dapi}/order", key, order_query)
                assert status == 200, order
                if order["status"] == "FILLED":
                    break
                async with session.get(f"{dapi}/depth?symbol=BTCUSD_PERP&limit=5") as answer:
                    now_best = (await answer.json())["bids"][0][0]
                if float(now_best) > float(order["price"]):  # the market rose away: follow it
                    query = f"symbol=BTCUSD_PERP&orderId={placed['orderId']}&side=BUY&quantity=1&price={now_best}"
                    status, moved = await signed(session, "PUT", f"{dapi}/order", key, query)
                    assert status == 200 or moved.get("code") == -2013, moved  # -2013: filled meanwhile
        order_query = f"symbol=BTCUSDT&orderId={resting['orderId']}"
        status, still = await signed(session, "GET", f"{fapi}/order", key, order_query)
        assert (status, still["status"]) == (200, "NEW")  # it rested throughout
