"""Trading on ``tickerplant serve --replay`` over real sockets, the server made as ``serve``
makes it (no clock given), python-binance at its defaults signing by its own clock, as
against Binance: the venue runs on the replay's time at ×60 (an order is stamped at the
replay's time, a replayed trade through its price fills it, the replayed funding is charged)
while the signatures are checked by the server's (docs/replay.md, "Trading on a replay")."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import ccxt.async_support as ccxt
import pytest
from binance_hosts import python_binance_at
from ccxt_hosts import point
from public_data import BOOK_HEADER, FUNDING_HEADER, KLINE_HEADER, UM_TRADES_HEADER, write
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import MarketClock
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

MIN = 60_000
HOUR = 60 * MIN
FUNDING = 1_704_096_000_000  # 2024-01-01 08:00 UTC
T0 = FUNDING - MIN  # the replay's first event
THROUGH = T0 + 20_000  # a seller through 41985
SECRET = "R" * 64


def files(root: Path) -> None:
    daily = root / "futures" / "um" / "daily"
    for kind in ("bookTicker", "trades"):
        (daily / kind).mkdir(parents=True)
    # from before the start: the book stands when the replay starts (docs/replay.md)
    book = [f"{i + 1},42000.0,3.000,42000.1,3.000,{t},{t}" for i, t in enumerate(range(T0 - 30_000, FUNDING + MIN, 5_000))]
    write(daily / "bookTicker", "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    trades = [f"1,41985.0,0.500,20992.500,{THROUGH},true", f"2,42000.1,0.010,420.001,{FUNDING + 30_000},false"]
    write(daily / "trades", "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades, zipped=False)
    marks = daily / "markPriceKlines" / "BTCUSDT" / "1m"
    marks.mkdir(parents=True)
    rows = [f"{t},42000.0,42000.0,42000.0,42000.0,0,{t + MIN - 1},0,60,0,0,0" for t in (T0, FUNDING)]
    write(marks, "BTCUSDT-1m-2024-01-01", KLINE_HEADER, rows, zipped=False)
    funding = root / "futures" / "um" / "monthly" / "fundingRate" / "BTCUSDT"
    funding.mkdir(parents=True)
    write(funding, "BTCUSDT-fundingRate-2024-01", FUNDING_HEADER, [f"{FUNDING},8,0.00010000"], zipped=False)


@pytest.mark.parametrize("speed", [60.0, None], ids=["x60", "max"])
async def test_a_replay_trades_and_funds_on_its_own_time(tmp_path: Path, speed: float | None) -> None:
    """At ×60 and at ``max`` (where, while an order rests, each event time is delivered on
    its own): the fill is stamped at the replayed trade's own time, and the funding after
    it is charged."""
    files(tmp_path / "files")
    db = tmp_path / "venue.db"
    store = AccountStore(db)
    account = store.create_account("rita", [(Market.UM, "USDT", parse_amount("100000"))], T0 - MIN)
    api_key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=T0 - MIN).api_key
    other = store.create_account("cora", [(Market.UM, "USDT", parse_amount("100000"))], T0 - MIN)
    cora_key = store.add_key(other.account_id, KeyType.HMAC, SECRET, now_ms=T0 - MIN).api_key
    store.close()
    replay = ReplayConfig(paths=(str(tmp_path / "files"),), speed=speed, paused=True, start_ms=T0)
    server = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=0, venue_db=str(db), replay=replay))
    await server.start()
    client = cora = None
    try:
        source = server.source
        assert isinstance(source, ReplaySource) and isinstance(server.venue_clock, MarketClock)
        um = f"http://127.0.0.1:{server.listeners[Market.UM].port}"
        client = await python_binance_at(um, None, api_key, SECRET)
        await eventually(lambda: server.engines[Market.UM].data.quantity_at("BTCUSDT", True, 4_200_000) > 0)
        resting = await client.futures_create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", price="41990.0", quantity="0.100"
        )
        assert resting["status"] == "NEW" and T0 <= resting["updateTime"] < THROUGH  # the replay's time
        held = await client.futures_create_order(
            symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.500", newOrderRespType="RESULT"
        )
        assert (held["status"], held["executedQty"]) == ("FILLED", "0.500")  # at the ask, 42000.1
        async with aiohttp.ClientSession() as http, http.ws_connect(f"{um.replace('http', 'ws')}/ws-fapi/v1") as ws:
            params = {"apiKey": api_key, "timestamp": int(time.time() * 1000), "symbol": "BTCUSDT", "side": "SELL",
                      "type": "LIMIT", "timeInForce": "GTC", "price": "43000.0", "quantity": "0.010"}  # fmt: skip
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))  # signed by its own clock
            params["signature"] = hmac_hex(SECRET, payload.encode())
            await ws.send_json({"id": 1, "method": "order.place", "params": params})
            placed = await ws.receive_json()
        assert placed["status"] == 200 and T0 <= placed["result"]["updateTime"] < THROUGH, placed
        orders = {w["interval"]: w["count"] for w in placed["rateLimits"] if w["rateLimitType"] == "ORDERS"}
        assert orders == {"SECOND": 3, "MINUTE": 3}, placed["rateLimits"]  # counted on the venue's time
        # another account's buy the seller at THROUGH would fill too, and its countdown, run out
        # 10 s before that trade: cancelled at the first delivery past its deadline, before
        # the trade (the wall clock's timer, looked at each 100 ms, came seconds of the
        # replay's late at ``max``, and the trade filled it first)
        cora = await python_binance_at(um, None, cora_key, SECRET)
        doomed = await cora.futures_create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", price="41990.0", quantity="0.100"
        )
        deadline = doomed["updateTime"] + 10_000
        counted = await cora.futures_countdown_cancel_all(symbol="BTCUSDT", countdownTime=10_000)
        assert counted == {"symbol": "BTCUSDT", "countdownTime": "10000"} and deadline < THROUGH
        listen_key = await client.futures_stream_get_listen_key()  # by the server's time: it lives
        assert await client.futures_stream_keepalive(listen_key) == {"listenKey": listen_key}
        source.resume()
        if speed is None:
            await eventually(lambda: source.state == "finished", timeout_s=30)
        else:
            await eventually(lambda: server.venue_clock.now_ms() > FUNDING + MIN, timeout_s=30)
        filled = await client.futures_get_order(symbol="BTCUSDT", orderId=resting["orderId"])
        assert (filled["status"], filled["executedQty"]) == ("FILLED", "0.100")  # by the seller through it
        ended = await cora.futures_get_order(symbol="BTCUSDT", orderId=doomed["orderId"])
        assert (ended["status"], ended["executedQty"]) == ("CANCELED", "0.000"), ended
        assert deadline <= ended["updateTime"] < THROUGH  # at the replay's time past its deadline
        (trade,) = await client.futures_account_trades(symbol="BTCUSDT", orderId=resting["orderId"])
        assert trade["time"] == THROUGH and trade["maker"] is True  # the replayed trade's own time
        fees = await client.futures_income_history(incomeType="FUNDING_FEE", startTime=T0)
        # the long held at 08:00: 0.6 × 42000 × 0.0001
        assert [(f["income"], f["time"]) for f in fees] == [("-2.52000000", FUNDING)]
        assert await client.futures_stream_keepalive(listen_key) == {"listenKey": listen_key}  # an hour of replay on
    finally:
        for opened in (client, cora):
            if opened is not None:
                await opened.close_connection()
        await server.close()


async def test_a_replays_market_data_is_of_its_present_and_serverTime_the_servers(tmp_path: Path) -> None:
    """``serve --replay`` answers market data at the replay's present, as the streams tell it:
    ccxt's ``fetch_trades(symbol, since)`` at its defaults (``aggTrades`` by time, whose
    2-day window is the market's, §7.9) reads the replayed trades, a depth snapshot is stamped
    at the replay's time, while ``serverTime`` stays the server's own (docs/replay.md)."""
    files(tmp_path / "files")
    replay = ReplayConfig(paths=(str(tmp_path / "files"),), speed=None, start_ms=T0)
    server = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=replay))
    await server.start()
    exchange = None
    try:
        source = server.source
        assert isinstance(source, ReplaySource)
        await eventually(lambda: source.state == "finished", timeout_s=30)
        port = server.listeners[Market.UM].port
        um = f"http://127.0.0.1:{port}"
        exchange = point(ccxt.binanceusdm(), {"https://fapi.binance.com": um})
        trades = await exchange.fetch_trades("BTC/USDT:USDT", since=T0)
        assert [(t["timestamp"], t["price"]) for t in trades] == [(THROUGH, 41985.0), (FUNDING + 30_000, 42000.1)]
        async with aiohttp.ClientSession() as http:
            for query in (f"startTime={T0}", f"endTime={FUNDING + MIN}", f"startTime={T0}&endTime={FUNDING}"):
                async with http.get(f"{um}/fapi/v1/aggTrades?symbol=BTCUSDT&{query}") as answer:
                    assert answer.status == 200, await answer.text()
                    assert {a["T"] for a in await answer.json()} <= {THROUGH, FUNDING + 30_000}
            async with http.get(f"{um}/fapi/v1/aggTrades?symbol=BTCUSDT&startTime={T0 - 3 * 86_400_000}") as answer:
                assert (answer.status, (await answer.json())["code"]) == (400, -4166)  # 2 days before the replay's now
            async with http.get(f"{um}/fapi/v1/depth?symbol=BTCUSDT&limit=5") as answer:
                assert T0 <= (await answer.json())["E"] < FUNDING + HOUR  # the replay's present, not the wall's
            async with http.ws_connect(f"{um.replace('http', 'ws')}/ws-fapi/v1") as ws:
                await ws.send_json({"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5}})
                assert T0 <= (await ws.receive_json())["result"]["E"] < FUNDING + HOUR
            async with http.get(f"{um}/fapi/v1/time") as answer:
                assert abs((await answer.json())["serverTime"] - time.time() * 1000) < 60_000  # the server's
    finally:
        if exchange is not None:
            await exchange.close()
        await server.close()
