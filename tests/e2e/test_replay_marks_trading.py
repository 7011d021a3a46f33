"""A position on a replay of Binance's public files, over real sockets: the funding it pays is
the replayed funding file's rate at the replayed mark-price klines' mark, the mark falling
through its liquidation price (a mark kline's close) liquidates it, an algo order triggers on
a replayed trade; and a symbol replayed without mark-price klines has no mark: it is valued,
and its funding file's rate charged, at its book's mid (docs/venue.md, "Funding, margin calls
and liquidation"; docs/replay.md, "What it plays")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from conftest import StartServer
from public_data import BOOK_HEADER, FUNDING_HEADER, KLINE_HEADER, UM_TRADES_HEADER, write
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

MIN = 60_000
FUNDING = 1_704_096_000_000  # 2024-01-01 08:00 UTC, a funding time in the file
T0 = FUNDING - 2 * MIN  # the replay's first event
SECRET = "M" * 64


def files(root: Path) -> None:
    """BTCUSDT: the book 42000.0 / 42000.1 (3 BTC each) until 08:01, then 40000.0 / 40000.1;
    a mark of 42000 each minute to 08:00's, 40000 at 08:01's close; a funding of 0.025 % at
    08:00 (and one at 00:00). ETHUSDT, no mark-price klines: 2299.9 / 2300.1, a buyer at 2301.0
    at 07:59:00, a funding of 0.01 % at 08:00."""
    daily = root / "futures" / "um" / "daily"
    for kind in ("bookTicker", "trades"):
        (daily / kind).mkdir(parents=True)
    btc_book = [
        f"{i + 1},42000.0,3.000,42000.1,3.000,{t},{t}" for i, t in enumerate(range(T0, FUNDING + MIN, 10_000))
    ]
    btc_book += [f"{i + 100},40000.0,3.000,40000.1,3.000,{t},{t}" for i, t in enumerate(range(FUNDING + MIN, T0 + 8 * MIN, 10_000))]  # fmt: skip
    write(daily / "bookTicker", "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, btc_book, zipped=False)
    btc_trades = [
        f"{i + 1},42000.0,0.010,420.000,{t + 5},true" for i, t in enumerate(range(T0, T0 + 8 * MIN, MIN))
    ]
    write(daily / "trades", "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, btc_trades, zipped=False)
    eth_book = [
        f"{i + 1},2299.90,50.000,2300.10,50.000,{t},{t}"
        for i, t in enumerate(range(T0, T0 + 8 * MIN, 10_000))
    ]
    write(daily / "bookTicker", "ETHUSDT-bookTicker-2024-01-01", BOOK_HEADER, eth_book, zipped=False)
    eth_trades = [f"1,2300.00,0.100,230.000,{T0 + 1000},true", f"2,2301.00,0.100,230.100,{T0 + MIN},false"]
    write(daily / "trades", "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, eth_trades, zipped=False)
    marks = daily / "markPriceKlines" / "BTCUSDT" / "1m"
    marks.mkdir(parents=True)
    closes = ["42000.00000000"] * 3 + ["40000.00000000"] * 5  # 07:58 … 08:05
    rows = [
        f"{T0 + m * MIN},{c},{c},{c},{c},0,{T0 + m * MIN + MIN - 1},0,60,0,0,0" for m, c in enumerate(closes)
    ]
    write(marks, "BTCUSDT-1m-2024-01-01", KLINE_HEADER, rows, zipped=False)
    funding = root / "futures" / "um" / "monthly" / "fundingRate" / "BTCUSDT"
    funding.mkdir(parents=True)
    rows = [f"{FUNDING - 8 * 60 * MIN},8,0.00010000", f"{FUNDING},8,0.00025000"]
    write(funding, "BTCUSDT-fundingRate-2024-01", FUNDING_HEADER, rows, zipped=False)
    funding = funding.with_name("ETHUSDT")
    funding.mkdir()
    write(funding, "ETHUSDT-fundingRate-2024-01", FUNDING_HEADER, [f"{FUNDING},8,0.00010000"], zipped=False)


async def replayed_venue(
    start_server: StartServer, tmp_path: Path, write_files: Callable[[Path], None], usdt: str, start_ms: int,
    ask: tuple[str, int, int] | None = None,
) -> tuple[Tickerplant, ManualClock, str]:
    """A server replaying the files ``write_files`` writes from ``start_ms`` on a manual clock,
    its venue holding one account of ``usdt`` USDT with an HMAC key signing with ``SECRET``:
    the server, its clock, the key; ``ask``: (a symbol, a price, a quantity in units) the
    venue's book shows first."""
    replayed = tmp_path / "files"
    write_files(replayed)
    db = tmp_path / "accounts.db"
    store = AccountStore(db)
    account = store.create_account("dora", [(Market.UM, "USDT", parse_amount(usdt))], start_ms - MIN)
    api_key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=start_ms - MIN).api_key
    store.close()
    clock = ManualClock(start_ms)
    replay = ReplayConfig(paths=(str(replayed),), speed=1.0, start_ms=start_ms)
    plant = await start_server(clock=clock, venue_db=str(db), replay=replay)
    if ask is not None:
        data = plant.engines[Market.UM].data
        await eventually(lambda: data.quantity_at(ask[0], False, ask[1]) == ask[2])
    return plant, clock, api_key


def signed_calls(
    session: aiohttp.ClientSession, port: int, clock: ManualClock, api_key: str, secret: str
) -> Callable[[str, str, str], Awaitable[Any]]:
    """A signed USDⓈ-M request on ``port`` at ``clock``'s time, its answer's JSON (a 200)."""

    async def call(method: str, path: str, query: str) -> Any:
        query = f"{query}&timestamp={clock.now_ms()}"
        url = f"http://127.0.0.1:{port}{path}?{query}&signature={hmac_hex(secret, query.encode())}"
        async with session.request(method, url, headers={"X-MBX-APIKEY": api_key}) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()

    return call


async def test_funding_liquidation_and_an_algo_order_on_a_replay_of_public_files(
    start_server: StartServer, tmp_path: Path
) -> None:
    # the start: the funding file's first row is at 00:00
    plant, clock, api_key = await replayed_venue(start_server, tmp_path, files, "2000", T0, ("ETHUSDT", 230_010, 50_000))
    engine = plant.engines[Market.UM]
    port, exposure = plant.listeners[Market.UM].port, engine.exposure

    async with aiohttp.ClientSession() as session:
        call = signed_calls(session, port, clock, api_key, SECRET)

        async def income(kind: str) -> list[tuple[str, str, int]]:
            rows = await call("GET", "/fapi/v1/income", f"incomeType={kind}")
            return [(r["symbol"], r["income"], r["time"]) for r in rows]

        async def amounts() -> dict[str, str]:
            rows = await call("GET", "/fapi/v2/positionRisk", "recvWindow=5000")
            return {p["symbol"]: p["positionAmt"] for p in rows if p["symbol"] in ("BTCUSDT", "ETHUSDT")}

        await call("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=50")
        bought = await call("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=2.000&newOrderRespType=RESULT")  # fmt: skip
        assert (bought["status"], bought["executedQty"]) == ("FILLED", "2.000")
        stop = "symbol=ETHUSDT&side=BUY&type=STOP_MARKET&algoType=CONDITIONAL&quantity=1.000&triggerPrice=2300.50"
        algo = await call("POST", "/fapi/v1/algoOrder", stop)
        assert algo["algoStatus"] == "NEW"

        clock.advance(MIN + 1000)  # 07:59:01: a buyer at 2301.00 went through the trigger
        await eventually(lambda: bool(exposure.holders.get("ETHUSDT")))
        got = await call("GET", "/fapi/v1/algoOrder", f"algoId={algo['algoId']}")
        assert got["algoStatus"] == "FINISHED"
        child = await call("GET", "/fapi/v1/order", f"symbol=ETHUSDT&orderId={got['actualOrderId']}")
        assert (child["status"], child["avgPrice"], child["executedQty"]) == ("FILLED", "2300.10000", "1.000")

        clock.advance(MIN)  # 08:00:01: the funding at the mark of 07:59's close
        # a long pays at a positive rate: 2 × 42000 × 0.00025 = 21; ETHUSDT, without a mark,
        # at its book's mid: 1 × 2300 × 0.0001 = 0.23
        await eventually(lambda: exposure.funded_ms == {"BTCUSDT": FUNDING, "ETHUSDT": FUNDING})
        fees = await income("FUNDING_FEE")
        assert sorted(fees) == [("BTCUSDT", "-21.00000000", FUNDING), ("ETHUSDT", "-0.23000000", FUNDING)]
        eth = next(p for p in await call("GET", "/fapi/v2/positionRisk", "symbol=ETHUSDT"))
        assert (eth["positionAmt"], eth["markPrice"]) == ("1.000", "2300.00000000")  # the book's mid
        assert (await amounts())["BTCUSDT"] == "2.000"  # a mark of 42000 liquidates nothing

        pushed = await session.ws_connect(f"ws://127.0.0.1:{port}/ws/btcusdt@forceOrder")
        clock.advance(2 * MIN - 1001)  # 08:01:59.999: the mark of 08:01's close, 40000, is through it
        await eventually(lambda: not exposure.holders.get("BTCUSDT"))
        forced = await call("GET", "/fapi/v1/forceOrders", "symbol=BTCUSDT")
        assert [(o["side"], o["origQty"], o["time"]) for o in forced] == [
            ("SELL", "2.000", FUNDING + 2 * MIN - 1)
        ]
        # and pushed on @forceOrder by the replay's plant at the end of its second (spec §4.10):
        # it went to a plant the replay does not tick, and never came
        clock.advance(1000)
        force = await pushed.receive_json(timeout=10)
        assert (force["e"], force["o"]["s"], force["o"]["S"], force["o"]["q"]) == ("forceOrder", "BTCUSDT", "SELL", "2.000")
        assert force["o"]["T"] == FUNDING + 2 * MIN - 1
        await pushed.close()
        assert (await amounts())["BTCUSDT"] == "0.000"


def files_past_the_cap(root: Path) -> None:
    """``files``, but BTCUSDT's funding at 08:00 is 5 %: past any rate Binance charges."""
    files(root)
    funding = root / "futures" / "um" / "monthly" / "fundingRate" / "BTCUSDT"
    rows = [f"{FUNDING - 8 * 60 * MIN},8,0.00010000", f"{FUNDING},8,0.05000000"]
    write(funding, "BTCUSDT-fundingRate-2024-01", FUNDING_HEADER, rows, zipped=False)


async def test_a_replayed_funding_rate_past_the_cap_is_charged_at_the_cap(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Part 3 §9 "Caps": the rate charged is ``clamp(rate, −MMR, +MMR)`` (BTCUSDT's first
    bracket: 0.4 %), whatever a replayed file says; the market data shows the file's rate."""
    ask = ("BTCUSDT", 4_200_010, 3_000)  # 42000.1, 3 BTC
    plant, clock, api_key = await replayed_venue(start_server, tmp_path, files_past_the_cap, "100000", T0, ask)
    port, exposure = plant.listeners[Market.UM].port, plant.engines[Market.UM].exposure
    async with aiohttp.ClientSession() as session:
        call = signed_calls(session, port, clock, api_key, SECRET)
        bought = await call("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.100&newOrderRespType=RESULT")  # fmt: skip
        assert bought["status"] == "FILLED"
        clock.advance(2 * MIN + 1000)  # 08:00:01: the funding at the mark of 07:59's close, 42000
        await eventually(lambda: exposure.funded_ms.get("BTCUSDT") == FUNDING)
        rows = await call("GET", "/fapi/v1/income", "incomeType=FUNDING_FEE")
        # 0.1 × 42000 × 0.004 = 16.8, not 0.1 × 42000 × 0.05 = 210
        assert [(r["symbol"], r["income"]) for r in rows] == [("BTCUSDT", "-16.80000000")]
        async with session.get(f"http://127.0.0.1:{port}/fapi/v1/fundingRate?symbol=BTCUSDT") as answer:
            history = await answer.json()
        assert [r["fundingRate"] for r in history if r["fundingTime"] == FUNDING] == ["0.05000000"]
