"""Replay of Binance's mark-price, index-price, premium-index and funding files: the
mark-price streams and REST premiumIndex / fundingRate follow the files."""

from __future__ import annotations

import asyncio
import bisect
import random
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from public_data import (
    AGG_HEADER,
    FUNDING_HEADER,
    KLINE_HEADER,
    T0,
    UM_TRADES_HEADER,
    agg_lines,
    funding_lines,
    price_kline_lines,
    trades,
    trades_lines,
    write,
)
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.feeds.replay.files import open_replay
from tickerplant.feeds.replay.public_files import FileKind, identify
from tickerplant.feeds.replay.replayer import Replayer
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.market.plant.plant import Plant

HOUR_MS = 3_600_000
Series = list[tuple[int, Decimal, str]]


def _folder(root: Path, market: str, kind: str, symbol: str, kline: bool = False) -> Path:
    folder = root / "futures" / market / "daily" / kind / symbol
    folder = folder / "1m" if kline else folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _dataset(root: Path) -> dict[str, Any]:
    rng = random.Random(11)
    btc = trades(rng, 300, T0 + 1000, 42000.0, "0.1", "0.001")
    write(_folder(root, "um", "trades", "BTCUSDT"), "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER,
          trades_lines(btc), zipped=True)  # fmt: skip
    coin = trades(rng, 200, T0 + 2000, 42000.0, "0.1", "1", aggregates=True)
    write(_folder(root, "cm", "aggTrades", "BTCUSD_PERP"), "BTCUSD_PERP-aggTrades-2024-01-01", AGG_HEADER,
          agg_lines(coin), zipped=False)  # fmt: skip
    data: dict[str, Any] = {}
    for market, symbol, pair in (("um", "BTCUSDT", "BTCUSDT"), ("cm", "BTCUSD_PERP", "BTCUSD")):
        for kind, name, price in (("markPriceKlines", symbol, 42010.0), ("indexPriceKlines", pair, 42000.0)):
            series = price_kline_lines(rng, T0, 8, price)
            write(_folder(root, market, kind, name, kline=True), f"{name}-1m-2024-01-01", KLINE_HEADER,
                  [line for *_, line in series], zipped=market == "um")  # fmt: skip
            data[f"{market} {kind}"] = series
    funding = funding_lines(rng, T0 - 5 * 8 * HOUR_MS, 7)  # the last one at 08:00, after the trades
    folder = root / "futures" / "um" / "monthly" / "fundingRate" / "BTCUSDT"
    folder.mkdir(parents=True)
    write(folder, "BTCUSDT-fundingRate-2024-01", FUNDING_HEADER, [line for *_, line in funding], zipped=True)
    data["funding"] = funding
    return data


def _at(series: Series, time_ms: int) -> Decimal | None:
    """The close of the last kline closed at or before ``time_ms``."""
    k = bisect.bisect_right([t for t, *_ in series], time_ms)
    return series[k - 1][1] if k else None


def _play(root: Path) -> dict[Market, list[StreamMessage]]:
    files = open_replay([root], now_ms=T0)
    plants = {m: Plant(m, insts, now_ms=T0) for m, insts in files.instruments.items()}
    replayer = Replayer(files.events, plants, runs=files.runs)
    outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
    while replayer.next_us is not None:
        replayer.step(1 << 62, 97, outs, [])
    replayer.finish(outs)
    return outs


def _payloads(out: list[StreamMessage], stream: str) -> list[Any]:
    return [msgspec.json.decode(payload) for name, payload in out if name == stream]


def test_price_klines_are_told_apart_by_their_folder(tmp_path: Path) -> None:
    mark = tmp_path / "futures/um/daily/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip"
    index = tmp_path / "futures/cm/daily/indexPriceKlines/BTCUSD/1m/BTCUSD-1m-2024-01-01.zip"
    premium = tmp_path / "premiumIndexKlines/BTCUSDT/1m/BTCUSDT-1m-2024-01.csv"
    funding = tmp_path / "futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip"
    assert [(f.kind, f.symbol, f.market) for f in map(identify, (mark, index, premium, funding)) if f] == [
        (FileKind.MARK_KLINES, "BTCUSDT", Market.UM),
        (FileKind.INDEX_KLINES, "BTCUSD", Market.CM),
        (FileKind.PREMIUM_KLINES, "BTCUSDT", Market.UM),
        (FileKind.FUNDING_RATE, "BTCUSDT", Market.UM),
    ]
    trade_klines = identify(tmp_path / "klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip")
    assert trade_klines is not None and (trade_klines.kind, trade_klines.interval) == (FileKind.KLINES, "1m")
    assert identify(tmp_path / "markPriceKlines/BTCUSDT/1h/BTCUSDT-1h-2024-01-01.zip") is None, "1m only"


def test_mark_streams_hold_each_minutes_close_from_its_close_time(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    outs = _play(tmp_path)
    marks, indexes = data["um markPriceKlines"], data["um indexPriceKlines"]
    funding: Series = data["funding"]
    pushes = _payloads(outs[Market.UM], "btcusdt@markPrice@1s")
    assert len(pushes) > 8 * 60 - 60, "a push a second once the first minute closed"
    assert pushes[0]["E"] == T0 + 60_000, "nothing before the first close"
    next_funding = funding[-1]
    before = [push for push in pushes if push["E"] < next_funding[0]]
    for push in before:
        assert Decimal(push["p"]) == _at(marks, push["E"]), push
        assert Decimal(push["i"]) == _at(indexes, push["E"]), push
        assert (push["r"], push["T"]) == (str(next_funding[1]), next_funding[0]), "the file's next funding"
        assert list(push) == ["e", "E", "s", "p", "P", "i", "r", "T"]
    # past the file's last funding: its interval carries on, at the rate of a zero premium
    after = pushes[len(before) :]
    assert after and all((p["r"], p["T"]) == ("0.00010000", next_funding[0] + 8 * HOUR_MS) for p in after)
    every = _payloads(outs[Market.UM], "!markPrice@arr@1s")
    assert [row["s"] for row in every[-1]] == ["BTCUSDT"] and every[-1][0] == pushes[-1]
    slow = _payloads(outs[Market.UM], "btcusdt@markPrice")
    assert slow and all(p["E"] % 3000 == 0 for p in slow) and slow[-1] in pushes
    events = _payloads(outs[Market.UM], "btcusdt@fundingEvent")
    assert [(e["T"], e["r"]) for e in events] == [(t, str(rate)) for t, rate, _ in funding]
    assert all(e["E"] == e["T"] for e in events), "told at the replay's time, the funding's"
    assert Decimal(events[-1]["p"]) == marks[-1][1], "the mark at the funding time"
    # COIN-M: the pair's index stream and its contracts' array
    cm_index = data["cm indexPriceKlines"]
    index_pushes = _payloads(outs[Market.CM], "btcusd@indexPrice@1s")
    assert index_pushes and all(Decimal(p["p"]) == _at(cm_index, p["E"]) for p in index_pushes)
    pair = _payloads(outs[Market.CM], "btcusd@markPrice@1s")
    assert pair and all([row["s"] for row in rows] == ["BTCUSD_PERP"] for rows in pair)
    cm_marks = data["cm markPriceKlines"]
    assert all(Decimal(rows[0]["p"]) == _at(cm_marks, rows[0]["E"]) for rows in pair)


def test_without_a_funding_file_the_rate_is_estimated_from_the_premium_klines(tmp_path: Path) -> None:
    rng = random.Random(5)
    btc = trades(rng, 100, T0 + 1000, 42000.0, "0.1", "0.001")
    write(_folder(tmp_path, "um", "trades", "BTCUSDT"), "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER,
          trades_lines(btc), zipped=False)  # fmt: skip
    marks = price_kline_lines(rng, T0, 4, 42000.0)
    write(_folder(tmp_path, "um", "markPriceKlines", "BTCUSDT", kline=True), "BTCUSDT-1m-2024-01-01",
          KLINE_HEADER, [line for *_, line in marks], zipped=False)  # fmt: skip
    premiums = [(t, Decimal(k - 2) / 10**5, "") for k, (t, *_) in enumerate(marks)]
    lines = [f"{t - 59_999},0,0,0,{p:.8f},0,{t},0,60,0,0,0" for t, p, _ in premiums]
    write(_folder(tmp_path, "um", "premiumIndexKlines", "BTCUSDT", kline=True), "BTCUSDT-1m-2024-01-01",
          KLINE_HEADER, lines, zipped=False)  # fmt: skip
    played = _play(tmp_path)[Market.UM]
    pushes = _payloads(played, "btcusdt@markPrice@1s")
    # the premium index each mark state carries, for premiumIndexKlines: the file's close
    states = _payloads(played, "btcusdt@markState")
    assert states and [Decimal(s["pi"]) for s in states] == [p for t, p, _ in premiums if t <= states[-1]["t"]]
    for push in pushes:
        seen = [p for t, p, _ in premiums if t <= push["E"]]
        average = sum(seen, Decimal(0)) / len(seen)
        rate = average + min(Decimal("0.0005"), max(Decimal("-0.0005"), Decimal("0.0001") - average))
        assert Decimal(push["r"]) == rate.quantize(Decimal("0.00000001")), push
        assert push["T"] == T0 + 8 * HOUR_MS, "no funding file: the 8-hourly schedule"


def _http(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5 * SECONDS) as response:
        return msgspec.json.decode(response.read())


async def test_a_replay_answers_premium_index_and_funding_rate(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=ReplayConfig(paths=(str(tmp_path),), speed=None))
    plant = Tickerplant(config)
    await plant.start()
    try:
        await asyncio.wait_for(plant.done.wait(), 10 * SECONDS)
        um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
        premium = await asyncio.to_thread(_http, f"{um}/fapi/v1/premiumIndex?symbol=BTCUSDT")
        funding: Series = data["funding"]
        assert Decimal(premium["markPrice"]) == data["um markPriceKlines"][-1][1]
        assert Decimal(premium["indexPrice"]) == data["um indexPriceKlines"][-1][1]
        # the last funding row is the replay's last event: then the next is the 8-hourly one
        assert premium["nextFundingTime"] == funding[-1][0] + 8 * HOUR_MS
        history = await asyncio.to_thread(_http, f"{um}/fapi/v1/fundingRate?symbol=BTCUSDT")
        assert [(h["fundingTime"], Decimal(h["fundingRate"])) for h in history] == [(t, r) for t, r, _ in funding]
        cm = f"http://127.0.0.1:{plant.listeners[Market.CM].port}"
        coin = await asyncio.to_thread(_http, f"{cm}/dapi/v1/premiumIndex?symbol=BTCUSD_PERP")
        assert Decimal(coin[0]["markPrice"]) == data["cm markPriceKlines"][-1][1]
        assert Decimal(coin[0]["indexPrice"]) == data["cm indexPriceKlines"][-1][1]
    finally:
        await plant.close()


def test_the_warm_up_keeps_the_funding_history_and_the_last_mark(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    start_ms = T0 + 5 * 60_000
    files = open_replay([tmp_path], start_ms=start_ms, now_ms=T0)
    plants = {m: Plant(m, insts, now_ms=T0) for m, insts in files.instruments.items()}
    history = Replayer(files.events, plants, start_ms * 1000, runs=files.runs).warm(start_ms * 1000)
    um = history[Market.UM]
    fundings = [msgspec.json.decode(p) for s, p in um if s == "btcusdt@fundingEvent"]
    assert [f["T"] for f in fundings] == [
        t for t, _, _ in data["funding"] if t < start_ms
    ], "every funding before the start, the files' days before the warm-up too"
    # told at the start, where they are published: the venue's history, not its charges
    assert {f["E"] for f in fundings} == {start_ms}
    states = [msgspec.json.decode(p) for s, p in um if s == "btcusdt@markState"]
    assert len(states) == 1 and Decimal(states[0]["p"]) == _at(data["um markPriceKlines"], start_ms)
    assert "pi" not in states[0], "no premium-index files: the views derive the premium"


async def test_a_replay_of_public_files_writes_the_payload_format_asked_for(tmp_path: Path) -> None:
    _dataset(tmp_path)
    replay = ReplayConfig(paths=(str(tmp_path),), speed=None)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=replay, payload_format=PayloadFormat.Y2026)
    plant = Tickerplant(config)
    marks: list[bytes] = []
    plant.bus.subscribe(
        Market.UM, lambda messages: marks.extend(p for s, p in messages if s == "btcusdt@markPrice@1s")
    )
    plant.demand.hold("btcusdt@markPrice@1s")  # a reader of the bus: the plants write what it takes
    await plant.start()
    try:
        await asyncio.wait_for(plant.done.wait(), 10 * SECONDS)
    finally:
        await plant.close()
    assert marks and all(payload.endswith(b',"st":1}') for payload in marks)  # spec §4.13


def test_a_months_funding_file_beside_a_day_of_trades_starts_at_the_trades(tmp_path: Path) -> None:
    """Binance ships funding monthly: beside a day of trades from 10:00 on the 15th, its rows
    from the 1st are history, not the start (the end is cut at the trades' last day too)."""
    day = 1_705_276_800_000  # 2024-01-15
    first_trade = day + 10 * HOUR_MS
    rows = [f"{i + 1},42000.0,0.010,420.000,{first_trade + 1000 * i},true" for i in range(60)]
    write(tmp_path, "BTCUSDT-trades-2024-01-15", UM_TRADES_HEADER, rows, zipped=False)
    month = 1_704_067_200_000  # 2024-01-01, the file's first row
    fundings = [f"{month + k * 8 * HOUR_MS},8,0.00010000" for k in range(93)]
    write(tmp_path, "BTCUSDT-fundingRate-2024-01", FUNDING_HEADER, fundings, zipped=False)
    files = open_replay([tmp_path], now_ms=1_795_000_000_000)
    assert files.first_us() == first_trade * 1000
    # read row by row (the runs' reference), the same start
    assert open_replay([tmp_path], now_ms=1_795_000_000_000, row_by_row=True).first_us() == first_trade * 1000
    # a symbol's 1m kline files (a kline is known at its close) beside the month's funding
    klines = tmp_path / "klines" / "futures" / "um" / "daily" / "klines" / "ETHUSDT" / "1m"
    klines.mkdir(parents=True)
    bars = [f"{t},2300.0,2300.0,2300.0,2300.0,1,{t + 59_999},2300,1,0,0,0" for t in range(first_trade, first_trade + 300_000, 60_000)]
    write(klines, "ETHUSDT-1m-2024-01-15", KLINE_HEADER, bars, zipped=False)
    write(tmp_path / "klines", "ETHUSDT-fundingRate-2024-01", FUNDING_HEADER, fundings, zipped=False)
    assert open_replay([tmp_path / "klines"], now_ms=1_795_000_000_000).first_us() == (first_trade + 59_999) * 1000
    alone = tmp_path / "alone"
    alone.mkdir()
    write(alone, "BTCUSDT-fundingRate-2024-01", FUNDING_HEADER, fundings, zipped=False)
    assert open_replay([alone], now_ms=1_795_000_000_000).first_us() == month * 1000  # nothing else: its rows
