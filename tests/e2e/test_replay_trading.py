"""Trading COIN-M on a replay of Binance's public files (bookTicker and aggTrades, no depth),
over real sockets: a taker walks the recorded top of book and gets no more than its size
(the rest expires), what it took is gone for the next taker until the next bookTicker row,
and a resting order waits behind the size shown at its price until the replayed trades
reach it (docs/venue.md, "How orders fill")."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from conftest import StartServer
from public_data import AGG_HEADER, BOOK_HEADER, write
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SECRET = "C" * 64


def files(folder: Path) -> None:
    """BTCUSD_PERP: the book 40000.0 x100 / 40000.1 x50, then from +2 s 40000.0 x80 / 40000.2 x30;
    a seller takes 85 at 40000.0 at +3 s, and 1 at 39999.9 at +4 s."""
    books = [
        f"1000,40000.0,100,40000.1,50,{T0},{T0}",
        f"1001,40000.0,80,40000.2,30,{T0 + 2000},{T0 + 2000}",
        f"1002,40000.0,80,40000.2,30,{T0 + 60_000},{T0 + 60_000}",  # the replay goes on
    ]
    trades = [f"500,40000.0,85,7000,7000,{T0 + 3000},true", f"501,39999.9,1,7001,7001,{T0 + 4000},true"]
    write(folder, "BTCUSD_PERP-bookTicker-2024-01-01", BOOK_HEADER, books, zipped=False)
    write(folder, "BTCUSD_PERP-aggTrades-2024-01-01", AGG_HEADER, trades, zipped=False)


async def test_coin_m_trades_on_a_replay_of_public_files(start_server: StartServer, tmp_path: Path) -> None:
    replayed = tmp_path / "files"
    replayed.mkdir()
    files(replayed)
    db = tmp_path / "accounts.db"
    store = AccountStore(db)
    account = store.create_account("carol", [(Market.CM, "BTC", parse_amount("1"))], T0)
    api_key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=T0).api_key
    store.close()
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, venue_db=str(db), replay=ReplayConfig(paths=(str(replayed),), speed=1.0))
    engine = plant.engines[Market.CM]
    await eventually(lambda: engine.data.quantity_at("BTCUSD_PERP", False, 400_001) == 50)
    port = plant.listeners[Market.CM].port

    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, query: str) -> dict[str, object] | list[dict[str, object]]:
            query = f"{query}&timestamp={clock.now_ms()}"
            url = f"http://127.0.0.1:{port}{path}?{query}&signature={hmac_hex(SECRET, query.encode())}"
            async with session.request(method, url, headers={"X-MBX-APIKEY": api_key}) as answer:
                assert answer.status == 200, await answer.text()
                found: dict[str, object] | list[dict[str, object]] = await answer.json()
                return found

        market = "symbol=BTCUSD_PERP&side=BUY&type=MARKET&newOrderRespType=RESULT&quantity={}"
        clock.advance(1000)
        first = await call("POST", "/dapi/v1/order", market.format(60))
        assert (first["status"], first["executedQty"]) == ("EXPIRED", "50")  # the top's 50, no more
        second = await call("POST", "/dapi/v1/order", market.format(5))
        assert (second["status"], second["executedQty"]) == ("EXPIRED", "0")  # the first took it all

        clock.advance(1500)  # the next row: 40000.0 x80 / 40000.2 x30
        await eventually(lambda: engine.data.quantity_at("BTCUSD_PERP", False, 400_002) == 30)
        resting = await call(
            "POST", "/dapi/v1/order", "symbol=BTCUSD_PERP&side=BUY&type=LIMIT&timeInForce=GTC&quantity=10&price=40000.0"
        )  # fmt: skip
        order_id = resting["orderId"]
        order = engine.resting_order("BTCUSD_PERP", int(order_id))  # type: ignore[call-overload]
        assert order is not None and order.queue_ahead == 80
        clock.advance(500)  # +3 s: a sell of 85 at its price, 5 beyond the 80 ahead
        await eventually(lambda: order.executed_qty == 5)
        clock.advance(1000)  # +4 s: a sell below its price went through it
        await eventually(lambda: order.executed_qty == 10)

        fills = await call("GET", "/dapi/v1/userTrades", "symbol=BTCUSD_PERP")
        assert [(t["price"], t["qty"], t["maker"]) for t in fills] == [  # type: ignore[index]
            ("40000.1", "50", False), ("40000", "5", True), ("40000", "5", True),
        ]  # fmt: skip
        positions = await call("GET", "/dapi/v1/positionRisk", "pair=BTCUSD")
        assert [(p["symbol"], p["positionAmt"]) for p in positions if p["positionAmt"] != "0"] == [  # type: ignore[index,union-attr]
            ("BTCUSD_PERP", "60")
        ]
