"""Replay of Binance's trade-kline public files (spec §9: `klines/<SYMBOL>/<interval>/`):
a replay given them answers REST klines (and continuous klines) from their rows, each row
once the replay has passed its close time, the day before the start included; a symbol
whose trades are replayed too keeps the klines of its trades."""

from __future__ import annotations

import asyncio
import random
import urllib.request
from pathlib import Path
from typing import Any

import msgspec
from public_data import KLINE_HEADER, T0, UM_TRADES_HEADER, trades, trades_lines, write
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.feeds.replay.public_files import FileKind, identify
from tickerplant.market.instruments import Market

MINUTE = 60_000
HOUR = 60 * MINUTE


def _folder(root: Path, market: str, symbol: str, interval: str) -> Path:
    folder = root / "futures" / market / "daily" / "klines" / symbol / interval
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _kline_rows(rng: random.Random, start_ms: int, count: int, length_ms: int, um: bool) -> list[list[Any]]:
    """REST-shaped rows as the files write them: USDⓈ-M prices 0.10 tick, 3-decimal
    volumes, 5-decimal quote volumes; COIN-M 0.1 tick, whole contracts, 8-decimal base."""
    rows = []
    price = 42_000.0
    for k in range(count):
        open_ms = start_ms + k * length_ms
        prices = sorted(round(price + rng.uniform(-50, 50), 1) for _ in range(4))
        o, c = prices[1], prices[2]
        price = c
        if um:
            v, q, bv, bq = "12.345", "518490.12345", "6.000", "252000.00000"
            texts = [f"{p:.2f}" for p in (o, prices[3], prices[0], c)]
        else:
            v, q, bv, bq = "120", "0.28571428", "60", "0.14285714"
            texts = [f"{p:.1f}" for p in (o, prices[3], prices[0], c)]
        rows.append([open_ms, *texts, v, open_ms + length_ms - 1, q, 100 + k, bv, bq, "0"])
    return rows


def _lines(rows: list[list[Any]]) -> list[str]:
    return [",".join(str(x) for x in row) for row in rows]


def _http(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5 * SECONDS) as response:
        return msgspec.json.decode(response.read())


def test_kline_files_are_told_apart_by_folder_and_interval(tmp_path: Path) -> None:
    one = _folder(tmp_path, "um", "BTCUSDT", "1m") / "BTCUSDT-1m-2024-01-01.zip"
    month = _folder(tmp_path, "cm", "BTCUSD_PERP", "1mo") / "BTCUSD_PERP-1mo-2024-01.csv"
    hour = _folder(tmp_path, "um", "BTCUSDT", "1h") / "BTCUSDT-1h-2024-01-01.csv"
    mark = tmp_path / "markPriceKlines" / "BTCUSDT" / "1m" / "BTCUSDT-1m-2024-01-01.csv"
    stray = tmp_path / "elsewhere" / "BTCUSDT-1h-2024-01-01.csv"
    found = [identify(p) for p in (one, month, hour, mark, stray)]
    assert [(f.kind, f.interval, f.market) if f else None for f in found] == [
        (FileKind.KLINES, "1m", Market.UM), (FileKind.KLINES, "1M", Market.CM), (FileKind.KLINES, "1h", Market.UM),
        (FileKind.MARK_KLINES, "", Market.UM), None,
    ]  # fmt: skip


async def test_a_replay_of_kline_files_answers_rest_klines_from_their_rows(tmp_path: Path) -> None:
    rng = random.Random(3)
    start = T0 + 2 * HOUR  # the replay starts two hours in: the day before it is warm-up
    um_minutes = _kline_rows(rng, T0, 180, MINUTE, um=True)  # three hours of minutes
    um_hours = _kline_rows(rng, T0, 3, HOUR, um=True)
    cm_minutes = _kline_rows(rng, T0, 150, MINUTE, um=False)
    write(_folder(tmp_path, "um", "BTCUSDT", "1m"), "BTCUSDT-1m-2024-01-01", KLINE_HEADER, _lines(um_minutes), zipped=True)
    write(_folder(tmp_path, "um", "BTCUSDT", "1h"), "BTCUSDT-1h-2024-01-01", None, _lines(um_hours), zipped=False)
    write(_folder(tmp_path, "cm", "BTCUSD_PERP", "1m"), "BTCUSD_PERP-1m-2024-01-01", KLINE_HEADER,
          _lines(cm_minutes), zipped=False)  # fmt: skip
    # ETHUSDT has its trades too: its klines are its trades', its kline file is not played
    eth = trades(rng, 50, T0 + 1000, 2300.0, "0.01", "0.001")
    eth_trades = tmp_path / "futures" / "um" / "daily" / "trades" / "ETHUSDT"
    eth_trades.mkdir(parents=True)
    write(eth_trades, "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(eth), zipped=False)
    write(_folder(tmp_path, "um", "ETHUSDT", "1m"), "ETHUSDT-1m-2024-01-01", KLINE_HEADER,
          _lines(_kline_rows(rng, T0, 3, MINUTE, um=True)), zipped=False)  # fmt: skip
    replay = ReplayConfig(paths=(str(tmp_path),), speed=None, start_ms=start)
    plant = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=replay))
    await plant.start()
    try:
        await asyncio.wait_for(plant.done.wait(), 20 * SECONDS)
        um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
        cm = f"http://127.0.0.1:{plant.listeners[Market.CM].port}"
        got = await asyncio.to_thread(_http, f"{um}/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500")
        assert got == um_minutes, "every row, the warm-up's too, as the file writes it"
        got = await asyncio.to_thread(_http, f"{um}/fapi/v1/klines?symbol=BTCUSDT&interval=1h&startTime={T0 + HOUR}")
        assert got == um_hours[1:]
        got = await asyncio.to_thread(_http, f"{um}/fapi/v1/klines?symbol=BTCUSDT&interval=4h")
        assert got == [], "an interval without its file has no klines"
        query = "pair=BTCUSDT&contractType=PERPETUAL&interval=1m&limit=2"
        got = await asyncio.to_thread(_http, f"{um}/fapi/v1/continuousKlines?{query}")
        assert got == um_minutes[-2:]
        got = await asyncio.to_thread(_http, f"{cm}/dapi/v1/klines?symbol=BTCUSD_PERP&interval=1m&limit=1500")
        assert got == cm_minutes
        got = await asyncio.to_thread(_http, f"{um}/fapi/v1/klines?symbol=ETHUSDT&interval=1m&limit=1500")
        assert sum(row[8] for row in got) == len(eth), "ETHUSDT's klines are its trades'"
    finally:
        await plant.close()

