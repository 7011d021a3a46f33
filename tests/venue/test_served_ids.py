# ruff: noqa: F811  (the fixture imported from test_journal is a parameter here)
"""Ids as Binance makes them, over a real `tickerplant serve` and its restart: order ids at
Binance's magnitude from the seed, algo ids that are never an order id, trade ids one
contiguous sequence from the simulated past into the live market (the 24 h ticker's
``count`` is ``lastId - firstId + 1``), aggregate trade ids a smaller sequence of their own,
and every sequence going on after a restart."""

from __future__ import annotations

import itertools
import signal
from pathlib import Path
from typing import Any

import aiohttp
from ports import free_port
from served_venue import serve, signed
from test_journal import database  # noqa: F401 (a fixture)

from tickerplant.market.instruments import Market
from tickerplant.venue.domain.ids import first_algo_id, first_order_id

SEED = 11
# an hour of the past warms the plants, not a day: the 24 h ticker's window still starts in
# the past and ends in the live market, and the server starts in half the time
WARM_S = 3600


async def _signed(session: aiohttp.ClientSession, method: str, url: str, key: str, query: str) -> Any:
    status, body = await signed(session, method, url, key, query)
    assert status == 200, body
    return body


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.json()


async def _public_ids_hold(session: aiohttp.ClientSession, base: str, prefix: str, symbol: str) -> None:
    """The ticker counts every id in its window; the latest 1,000 aggregates and trades
    (past and live spliced) run on without a gap, each aggregate's ``f`` after the last's
    ``l``, its id a sequence of its own below the trade ids."""
    ticker = await _get(session, f"{base}/{prefix}/v1/ticker/24hr?symbol={symbol}")
    ticker = ticker[0] if isinstance(ticker, list) else ticker  # COIN-M answers a list
    assert ticker["count"] == ticker["lastId"] - ticker["firstId"] + 1 > 0
    aggregates = await _get(session, f"{base}/{prefix}/v1/aggTrades?symbol={symbol}&limit=1000")
    assert [a["a"] for a in aggregates] == list(range(aggregates[0]["a"], aggregates[0]["a"] + 1000))
    assert all(b["f"] == a["l"] + 1 for a, b in itertools.pairwise(aggregates))
    assert all(a["a"] < a["f"] for a in aggregates)
    assert sum(a["l"] - a["f"] for a in aggregates) > 0  # some group several trades
    trades = await _get(session, f"{base}/{prefix}/v1/trades?symbol={symbol}&limit=1000")
    assert [t["id"] for t in trades] == list(range(trades[0]["id"], trades[0]["id"] + 1000))
    assert 0 <= trades[-1]["id"] - ticker["lastId"] < 10_000  # the same sequence (some traded since)


async def test_ids_as_binance_makes_them_and_a_restart_goes_on(database: tuple[Path, str]) -> None:
    path, key = database
    port, cm_port = free_port(), free_port()
    base, cm_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{cm_port}"
    stop = ("algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.010"
            "&triggerPrice={trigger}")  # fmt: skip

    async def trigger(session: aiohttp.ClientSession) -> str:
        price = await _get(session, f"{base}/fapi/v1/ticker/price?symbol=BTCUSDT")
        return f"{float(price['price']) * 0.9:.1f}"

    more = ("--seed", str(SEED))
    async with serve(path, port, cm_port=cm_port, sim_rate="400", options=more, past_ms=2 * 86_400_000, warm_s=WARM_S) as process, \
            aiohttp.ClientSession() as session:  # fmt: skip
        await _public_ids_hold(session, base, "fapi", "BTCUSDT")
        await _public_ids_hold(session, cm_base, "dapi", "BTCUSD_PERP")
        market = await _signed(session, "POST", f"{base}/fapi/v1/order", key,
                               "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010")  # fmt: skip
        order_id = market["orderId"]
        assert order_id == first_order_id(SEED, Market.UM, "BTCUSDT")  # the seed's, the same each time
        assert order_id > 2**32 and 11 <= len(str(order_id)) <= 12  # past 32 bits, as Binance's
        algo = await _signed(session, "POST", f"{base}/fapi/v1/algoOrder", key,
                             stop.format(trigger=await trigger(session)))  # fmt: skip
        # a table keyed by the exchange's id holds the first market order and the first stop-loss
        assert algo["algoId"] == first_algo_id(SEED, Market.UM) != order_id
        fills = await _signed(session, "GET", f"{base}/fapi/v1/userTrades", key, "symbol=BTCUSDT")
        assert fills and all(f["orderId"] == order_id for f in fills)
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async with serve(path, port, cm_port=cm_port, sim_rate="400", options=more, past_ms=2 * 86_400_000, warm_s=WARM_S), aiohttp.ClientSession() as session:
        again = await _signed(session, "POST", f"{base}/fapi/v1/order", key,
                              "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.010")  # fmt: skip
        assert again["orderId"] == order_id + 1
        algo_again = await _signed(session, "POST", f"{base}/fapi/v1/algoOrder", key,
                                   stop.format(trigger=await trigger(session)))  # fmt: skip
        assert algo_again["algoId"] == algo["algoId"] + 1
        later = await _signed(session, "GET", f"{base}/fapi/v1/userTrades", key, "symbol=BTCUSDT")
        new = [f["id"] for f in later if f["orderId"] == again["orderId"]]
        assert new and min(new) > max(f["id"] for f in fills)  # the trade ids go on too
        await _public_ids_hold(session, base, "fapi", "ETHUSDT")
