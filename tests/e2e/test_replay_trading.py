"""Trading COIN-M on a replay of Binance's public files (bookTicker and aggTrades, no depth),
over real sockets: a taker walks the recorded top of book and gets no more than its size
(the rest expires), what it took is gone for the next taker until the next bookTicker row,
and a resting order waits behind the size shown at its price until the replayed trades
reach it (docs/venue.md, "How orders fill")."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from conftest import StartServer
from public_data import AGG_HEADER, BOOK_HEADER, KLINE_HEADER, write
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig
from tickerplant.feeds.relay.relay import RelaySource
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
    # made on the operator's wall clock, months after the replayed market's time
    account = store.create_account("carol", [(Market.CM, "BTC", parse_amount("1"))], T0 + 90 * 86_400_000)
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

        async def btc_update_time() -> object:
            rows = await call("GET", "/dapi/v1/balance", "")
            return next(r["updateTime"] for r in rows if r["asset"] == "BTC")  # type: ignore[index]

        # the balance told as a TRANSFER at the replay's time, and updateTime that time, not the
        # wall-clock time the operator's row was written at (months ahead of the market)
        transfers = await call("GET", "/dapi/v1/income", "incomeType=TRANSFER")
        assert [t["time"] <= T0 for t in transfers] == [True]  # type: ignore[index]
        assert await btc_update_time() == transfers[0]["time"]  # type: ignore[index]
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
        assert await btc_update_time() == fills[-1]["time"] == T0 + 4000  # type: ignore[index]  # the last fill's
        positions = await call("GET", "/dapi/v1/positionRisk", "pair=BTCUSD")
        assert [(p["symbol"], p["positionAmt"]) for p in positions if p["positionAmt"] != "0"] == [  # type: ignore[index,union-attr]
            ("BTCUSD_PERP", "60")
        ]


async def test_symbols_the_catalogue_does_not_list_trade_at_their_files_prices(
    start_server: StartServer, tmp_path: Path
) -> None:
    """A replayed symbol the catalogue does not list is made from its name, priced at its
    files' first price: its exchangeInfo maxPrice is sized by it (priced at one whole unit,
    every TAOUSDT order above 50 USDT was -4016), and a COIN-M pair's brackets are BTC's
    scaled by that price (AVAX's 5 BTC first cap is 18,000 AVAX at ~25 USD, not 90,000)."""
    replayed = tmp_path / "files"
    replayed.mkdir()
    for symbol, bid, ask, qty in (("TAOUSDT", "412.51", "412.56", "3.5"), ("AVAXUSD_PERP", "25.121", "25.131", "40")):
        books = [f"{n},{bid},{qty},{ask},{qty},{T0 + n},{T0 + n}" for n in (0, 60_000)]
        write(replayed, f"{symbol}-bookTicker-2024-01-01", BOOK_HEADER, books, zipped=False)
    db = tmp_path / "accounts.db"
    store = AccountStore(db)
    balances = [(Market.UM, "USDT", parse_amount("100000")), (Market.CM, "AVAX", parse_amount("1000"))]
    account = store.create_account("carol", balances, T0)
    api_key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=T0).api_key
    store.close()
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, venue_db=str(db), replay=ReplayConfig(paths=(str(replayed),), speed=1.0))
    await eventually(lambda: plant.engines[Market.CM].data.quantity_at("AVAXUSD_PERP", False, 25_131) == 40)
    async with aiohttp.ClientSession() as session:

        async def call(market: Market, method: str, path: str, query: str = "") -> Any:
            port = plant.listeners[market].port
            query = f"{query}&timestamp={clock.now_ms()}".lstrip("&")
            url = f"http://127.0.0.1:{port}{path}?{query}&signature={hmac_hex(SECRET, query.encode())}"
            async with session.request(method, url, headers={"X-MBX-APIKEY": api_key}) as answer:
                assert answer.status == 200, await answer.text()
                return await answer.json()

        async def price_filter(market: Market, path: str, symbol: str) -> dict[str, str]:
            async with session.get(f"http://127.0.0.1:{plant.listeners[market].port}{path}") as answer:
                info = await answer.json()
            listed = next(s for s in info["symbols"] if s["symbol"] == symbol)
            return next(f for f in listed["filters"] if f["filterType"] == "PRICE_FILTER")

        tao = await price_filter(Market.UM, "/fapi/v1/exchangeInfo", "TAOUSDT")
        # the catalogue's rule (maxPrice ~50 times the price) at its price; its tick the files' finest
        assert (Decimal(tao["maxPrice"]), tao["tickSize"]) == (Decimal("412.51") * 50, "0.01")
        placed = await call(Market.UM, "POST", "/fapi/v1/order",
                            "symbol=TAOUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1.5&price=400.07")  # fmt: skip
        assert placed["status"] == "NEW"
        brackets = await call(Market.CM, "GET", "/dapi/v2/leverageBracket", "symbol=AVAXUSD_PERP")
        first = brackets[0]["brackets"][0]
        assert (first["initialLeverage"], first["qtyCap"]) == (125, 18_000)  # 5 BTC at 90,000 / 25.121: ×3,600
        bought = await call(Market.CM, "POST", "/dapi/v1/order",
                            "symbol=AVAXUSD_PERP&side=BUY&type=MARKET&quantity=20&newOrderRespType=RESULT")  # fmt: skip
        assert (bought["status"], bought["executedQty"]) == ("FILLED", "20")  # 200 USD of AVAX at 20x


async def test_a_relayed_coin_m_pair_the_catalogue_does_not_list_is_priced_at_its_upstreams_mark(
    start_server: StartServer, tmp_path: Path
) -> None:
    """exchangeInfo carries no price: the relay asks its upstream's premiumIndex for the marks
    of the COIN-M pairs the catalogue does not list, and their brackets are BTC's scaled by
    it (unpriced, AVAX had BTC's 5-coin first cap, and 2 contracts at 20x were -2027)."""
    replayed = tmp_path / "files"
    replayed.mkdir()
    books = [f"{n},25.121,40,25.131,40,{T0 + n},{T0 + n}" for n in (0, 3_600_000)]
    write(replayed, "AVAXUSD_PERP-bookTicker-2024-01-01", BOOK_HEADER, books, zipped=False)
    marks = replayed / "markPriceKlines" / "AVAXUSD_PERP" / "1m"  # the upstream's premiumIndex: its marks
    marks.mkdir(parents=True)
    rows = [f"{T0 + m * 60_000},25.126,25.126,25.126,25.126,0,{T0 + m * 60_000 + 59_999},0,60,0,0,0" for m in range(60)]
    write(marks, "AVAXUSD_PERP-1m-2024-01-01", KLINE_HEADER, rows, zipped=False)
    upstream_clock = ManualClock(T0)
    upstream = await start_server(clock=upstream_clock, replay=ReplayConfig(paths=(str(replayed),), speed=1.0))
    upstream_clock.advance(61_000)  # the first minute's mark played
    await eventually(lambda: upstream.engines[Market.CM].mark("AVAXUSD_PERP") is not None)
    db = tmp_path / "accounts.db"
    store = AccountStore(db)
    account = store.create_account("carol", [(Market.CM, "AVAX", parse_amount("1000"))], T0)
    api_key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=T0).api_key
    store.close()
    relay = await start_server(source=RelaySource({Market.CM: upstream.url(Market.CM)}), venue_db=str(db))
    port = relay.listeners[Market.CM].port
    async with aiohttp.ClientSession() as session:
        query = f"symbol=AVAXUSD_PERP&timestamp={relay.clock.now_ms()}"
        url = f"http://127.0.0.1:{port}/dapi/v2/leverageBracket?{query}&signature={hmac_hex(SECRET, query.encode())}"
        async with session.get(url, headers={"X-MBX-APIKEY": api_key}) as answer:
            assert answer.status == 200, await answer.text()
            first = (await answer.json())[0]["brackets"][0]
    assert (first["initialLeverage"], first["qtyCap"]) == (125, 18_000)  # BTC's 5 x 3,600
