"""``priceProtect`` over real sockets, on a replay of Binance's public files whose mark moves
away from the last trade: an algo order sent with it waits while the mark and the contract
price are further apart than the symbol's ``triggerProtect`` (5 %), and triggers once they
are back within it; the same order without it triggers at once (trading spec part 2 §4.2's
table)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from conftest import StartServer
from public_data import BOOK_HEADER, KLINE_HEADER, UM_TRADES_HEADER, write
from test_replay_marks_trading import SECRET, replayed_venue, signed_calls
from timing import eventually

from tickerplant.market.instruments import Market

MIN = 60_000
T0 = 1_704_088_800_000  # 2024-01-01 06:00 UTC, the replay's first event


def files(root: Path) -> None:
    """BTCUSDT: the book 42000.0 / 42000.1 and a trade at 42000.0 each minute; the mark 42000
    at 06:00's and 06:01's closes, 39000 at 06:02's (7.1 % below the last trade), 41000 from
    06:03's (2.4 %)."""
    daily = root / "futures" / "um" / "daily"
    for kind in ("bookTicker", "trades"):
        (daily / kind).mkdir(parents=True)
    book = [f"{i + 1},42000.0,3.000,42000.1,3.000,{t},{t}" for i, t in enumerate(range(T0, T0 + 8 * MIN, 10_000))]
    write(daily / "bookTicker", "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    trades = [f"{i + 1},42000.0,0.010,420.000,{t + 5},true" for i, t in enumerate(range(T0, T0 + 8 * MIN, MIN))]
    write(daily / "trades", "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades, zipped=False)
    marks = daily / "markPriceKlines" / "BTCUSDT" / "1m"
    marks.mkdir(parents=True)
    closes = ["42000.00000000"] * 2 + ["39000.00000000"] + ["41000.00000000"] * 5
    rows = [f"{T0 + m * MIN},{c},{c},{c},{c},0,{T0 + m * MIN + MIN - 1},0,60,0,0,0" for m, c in enumerate(closes)]
    write(marks, "BTCUSDT-1m-2024-01-01", KLINE_HEADER, rows, zipped=False)


async def test_a_price_protected_stop_waits_for_the_mark_and_the_last_price_to_come_together(
    start_server: StartServer, tmp_path: Path
) -> None:
    plant, clock, api_key = await replayed_venue(start_server, tmp_path, files, "5000", T0, ("BTCUSDT", 4_200_010, 3_000))
    engine = plant.engines[Market.UM]
    port = plant.listeners[Market.UM].port

    async with aiohttp.ClientSession() as session:
        call = signed_calls(session, port, clock, api_key, SECRET)

        async def status(algo_id: int) -> str:
            return str((await call("GET", "/fapi/v1/algoOrder", f"algoId={algo_id}"))["algoStatus"])

        stop = ("symbol=BTCUSDT&side=SELL&type=STOP_MARKET&algoType=CONDITIONAL&quantity=0.010"
                "&triggerPrice=41500.00&workingType=MARK_PRICE")  # fmt: skip
        guarded = await call("POST", "/fapi/v1/algoOrder", f"{stop}&priceProtect=TRUE")
        plain = await call("POST", "/fapi/v1/algoOrder", stop)
        assert (guarded["priceProtect"], plain["priceProtect"]) == (True, False)

        clock.advance(3 * MIN + 1000)  # 06:03:01: the mark 39000, through the trigger, 7.1 % off the last trade
        await eventually(lambda: not engine.algos.triggered and plain["algoId"] not in engine.algos.by_symbol.get("BTCUSDT", {}))
        assert await status(plain["algoId"]) == "FINISHED"
        assert await status(guarded["algoId"]) == "NEW"  # waits: further apart than triggerProtect

        clock.advance(MIN)  # 06:04:01: the mark 41000, still through it, 2.4 % off: within
        await eventually(lambda: not engine.algos.by_symbol.get("BTCUSDT"))
        assert await status(guarded["algoId"]) in ("TRIGGERED", "FINISHED")
        positions = await call("GET", "/fapi/v2/positionRisk", "symbol=BTCUSDT")
        assert positions[0]["positionAmt"] == "-0.020"
