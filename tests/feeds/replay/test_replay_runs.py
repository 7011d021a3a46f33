"""The replay plays public files a stretch at a time (``feeds/replay/runs.py``,
``market/plant/runs.py``): every stream a client or a market view can take carries the
same payloads in the same order as when each row was merged and applied on its own
(``open_replay(..., row_by_row=True)``), whatever the batch, the speed, the start, the
depth streams and the files (both trade kinds or one, tops whose E steps back or whose
decimals are written short, trades whose time steps back, quiet gaps, a day's files chained, mark prices and funding merged
in); and a replay whose plants follow a changing demand writes exactly the wanted part of
what one writing everything writes, though its stretches pass the kline ticks nobody
hears."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from public_data import (
    AGG_HEADER,
    BOOK_HEADER,
    DAY_MS,
    FUNDING_HEADER,
    KLINE_HEADER,
    T0,
    UM_TRADES_HEADER,
    Row,
    agg_lines,
    book_lines,
    funding_lines,
    price_kline_lines,
    trades,
    trades_lines,
    write,
)

from tickerplant.bus import StreamMessage
from tickerplant.feeds.replay.files import open_replay
from tickerplant.feeds.replay.public_files import FileKind, RowBlock
from tickerplant.feeds.replay.replayer import Replayer
from tickerplant.feeds.replay.runs import PublicRuns, RowInput
from tickerplant.market.demand import Subscribed
from tickerplant.market.instruments import Market
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView

START = T0 + DAY_MS  # the second day: the first warms the windows


def _files(folder: Path, seed: int) -> None:
    rng = random.Random(seed)
    day2 = T0 + DAY_MS
    um, cm = folder / "um", folder / "cm"
    for market_folder in (um, cm, folder / "markPriceKlines"):
        market_folder.mkdir(exist_ok=True)
    # BTCUSDT: trades and aggTrades (the trades feed the statistics), tops; two days each
    for day, start in ((1, T0 + 5_000), (2, day2 - 30_000)):
        btc = trades(rng, 400, start, 42000.0, "0.1", "0.001")
        write(um, f"BTCUSDT-trades-2024-01-0{day}", UM_TRADES_HEADER, trades_lines(btc), zipped=day == 2)
        write(um, f"BTCUSDT-aggTrades-2024-01-0{day}", AGG_HEADER, agg_lines(btc[::3]), zipped=True)
        book = [line for _, line in book_lines(rng, 500, start, 42000.0)]
        write(um, f"BTCUSDT-bookTicker-2024-01-0{day}", BOOK_HEADER, book, zipped=True)
    # ETHUSDT: trades alone (each its own aggregate), one stepping back in time (by more
    # than a minute: into an older candle and window bucket), a quiet stretch of minutes
    eth = trades(rng, 300, day2 - 10_000, 2300.0, "0.01", "0.001")
    lines = trades_lines(eth)
    lines[50], lines[51] = lines[51], lines[50]
    lines[120] = _later(lines[120], 4, -65_000)
    lines[200:] = [_later(line, 4, 400_000) for line in lines[200:]]
    write(um, "ETHUSDT-trades-2024-01-02", UM_TRADES_HEADER, lines, zipped=False)
    # its tops with one price written short: their units are read (the others' texts are cut
    # to what the payloads write, ``RowBlock.texts``)
    tops = [line for _, line in book_lines(rng, 300, day2, 2300.0)]
    fields = tops[100].split(",")
    fields[1] = fields[1].rstrip("0")
    tops[100] = ",".join(fields)
    write(um, "ETHUSDT-bookTicker-2024-01-02", BOOK_HEADER, tops, zipped=True)
    # COIN-M: two symbols' tops on the real-time !bookTicker, aggregates alone
    for symbol, mid in (("BTCUSD_PERP", 42000.0), ("ETHUSD_PERP", 2300.0)):
        coin = trades(rng, 250, day2 - 20_000, mid, "0.1" if mid > 10_000 else "0.01", "1", aggregates=True)
        write(cm, f"{symbol}-aggTrades-2024-01-02", None, agg_lines(coin), zipped=True)
        write(cm, f"{symbol}-bookTicker-2024-01-02", BOOK_HEADER,
              [line for _, line in book_lines(rng, 400, day2 - 5_000, mid)], zipped=True)  # fmt: skip
    # mark prices and funding: merged one by one, they set the mark streams' cadences
    marks = [line for _, _, line in price_kline_lines(rng, day2 - 120_000, 30, 42000.0)]
    write(folder / "markPriceKlines", "BTCUSDT-1m-2024-01-02", KLINE_HEADER, marks, zipped=True)
    funding = [line for _, _, line in funding_lines(rng, day2 - 3_600_000 * 16, 3)]  # the last at day2
    write(um, "BTCUSDT-fundingRate-2024-01", FUNDING_HEADER, funding, zipped=False)


def _later(line: str, column: int, by_ms: int) -> str:
    fields = line.split(",")
    fields[column] = str(int(fields[column]) + by_ms)
    return ",".join(fields)


def _per_batch(stream: str) -> bool:
    return "@depth" in stream or "@rpiDepth" in stream


def _play(
    folder: Path, row_by_row: bool, batch: int, step_us: int | None, depth_streams: bool, start_ms: int | None
) -> tuple[dict[tuple[Market, str], list[bytes]], dict[tuple[Market, str], Any], int]:
    files = open_replay([folder], now_ms=T0, start_ms=start_ms, row_by_row=row_by_row)
    first_us = files.first_us()
    assert first_us is not None
    start_us = first_us if start_ms is None else start_ms * 1000
    plants = {
        m: Plant(m, insts, now_ms=start_us // 1000, depth_streams=depth_streams)
        for m, insts in files.instruments.items()
    }
    replayer = Replayer(files.events, plants, start_us, runs=files.runs)
    views = {m: MarketView(m, insts) for m, insts in files.instruments.items()}
    for market, history in replayer.warm(start_us).items():
        views[market].receive(history)
    streams: dict[tuple[Market, str], list[bytes]] = defaultdict(list)
    until_us = start_us
    while replayer.next_us is not None:
        outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
        until_us = 1 << 62 if step_us is None else until_us + step_us
        replayer.step(until_us, batch, outs, [])
        for market, out in outs.items():
            views[market].receive(out)
            for stream, payload in out:
                # The diff-depth streams (the internal @depthDiff, and the client ones a
                # plant with depth streams writes) hold what changed per batch: they
                # differ with the batches in either replay. The books they keep, below,
                # do not.
                if not _per_batch(stream):
                    streams[market, stream].append(payload)
    outs = {m: [] for m in Market}
    replayer.finish(outs)
    for market, out in outs.items():
        views[market].receive(out)
        for stream, payload in out:
            if not _per_batch(stream):
                streams[market, stream].append(payload)
    answers: dict[tuple[Market, str], Any] = {}
    for market, plant in plants.items():
        for symbol, state in plant.symbols.items():
            book = state.book
            answers[market, f"plant {symbol}"] = (book.last_update_id, dict(book.bids), dict(book.asks), state.top)
    for market, view in views.items():
        for symbol, symbol_view in view.symbols.items():
            book = view.book(symbol_view)
            answers[market, symbol] = (
                book.last_update_id, dict(book.bids), dict(book.asks), view.trades(symbol_view).latest(1000),
                [view.klines(symbol_view).series(i).query(None, None, 1500) for i in ("1m", "5m")],
                view.last_price(symbol_view), view.ticker(symbol_view), view.book_ticker(symbol_view),
            )  # fmt: skip
    return streams, answers, replayer.events


@pytest.mark.parametrize(
    ("seed", "batch", "step_us", "depth_streams", "start_ms"),
    [
        (1, 4096, None, False, START),  # a replay at --speed max, as served
        (2, 7, None, True, START),  # small batches: a stretch cut by its budget
        (3, 1, None, False, None),  # from the first row, one event a batch
        (4, 300, 37_000, True, START + 60_000),  # at a speed: stretches cut by the replay clock
        (5, 50, 1_000_000, False, START),
    ],
)
def test_stretches_write_every_stream_as_rows_one_by_one(
    tmp_path: Path, seed: int, batch: int, step_us: int | None, depth_streams: bool, start_ms: int | None
) -> None:
    _files(tmp_path, seed)
    rows = _play(tmp_path, True, batch, step_us, depth_streams, start_ms)
    runs = _play(tmp_path, False, batch, step_us, depth_streams, start_ms)
    assert runs[2] == rows[2] > 500, "every row played"
    assert runs[0].keys() == rows[0].keys()
    for stream, payloads in rows[0].items():
        assert runs[0][stream] == payloads, stream
    if start_ms is None or start_ms <= START:  # (COIN-M's tops end within a minute of START)
        assert len(rows[0][Market.CM, "!bookTicker"]) > 500, "COIN-M's real-time !bookTicker, two symbols"
    um = {(Market.UM, name) for name in ("btcusdt@kline_1m", "ethusdt@miniTicker", "btcusdt@markPrice")}
    assert um <= rows[0].keys()
    assert runs[1] == rows[1], "the market views answer the same"


def test_a_stretch_is_cut_at_the_last_millisecond_within_its_budget() -> None:
    def row_input(times: list[int]) -> RowInput:
        return RowInput(iter([RowBlock(times, ())]), Market.UM, "BTCUSDT", FileKind.TRADES, True)

    runs = PublicRuns([row_input([10, 10, 11, 12, 12, 12, 15]), row_input([11, 13, 13, 20])])
    assert runs.next_ms == 10
    assert runs.cut(10, 30, 11) == 30  # everything fits
    # rows up to each millisecond: 10: 2, 11: 4, 12: 7, 13: 9, 15: 10, 20: 11
    assert runs.cut(10, 30, 10) == 19
    assert runs.cut(10, 30, 9) == 14
    assert runs.cut(10, 30, 8) == 12
    assert runs.cut(10, 30, 3) == 10  # 11 would make 4
    assert runs.cut(10, 30, 1) == 10  # a millisecond goes whole, whatever the budget
    assert runs.cut(10, 12, 100) == 12


_Step = dict[tuple[Market, str], list[bytes]]  # a step's payloads by stream


def _dense(rows: list[Row], rng: random.Random, start_ms: int) -> list[Row]:
    """``rows`` tens of milliseconds apart: a liquid symbol's stretch holds many of them."""
    times = itertools.accumulate((rng.choice((0, 3, 20, 45, 90)) for _ in rows[1:]), initial=start_ms)
    return [dataclasses.replace(row, time_ms=t) for row, t in zip(rows, times, strict=True)]


def _dense_files(folder: Path, seed: int) -> None:
    """Two minutes of liquid symbols: UM's BTCUSDT trades, aggTrades and tops, ETHUSDT's
    trades alone (one stepping back in time), COIN-M's aggregates alone and tops; then,
    after a quiet stretch just past ``_SKIP_QUIET_MS`` from the last kline tick the rows
    passed, more BTCUSDT trades."""
    rng = random.Random(seed)
    um, cm = folder / "um", folder / "cm"
    um.mkdir()
    cm.mkdir()
    btc = _dense(trades(rng, 3000, START, 42000.0, "0.1", "0.001"), rng, START)
    eth = trades_lines(_dense(trades(rng, 2000, START, 2300.0, "0.01", "0.001"), rng, START))
    eth[900] = _later(eth[900], 4, -700)
    coin = _dense(trades(rng, 2000, START, 42000.0, "0.1", "1", aggregates=True), rng, START)
    um_tops = [line for _, line in book_lines(rng, 1500, START, 42000.0)]
    cm_tops = [line for _, line in book_lines(rng, 1500, START, 42000.0)]
    quiet_from = max(int(lines[-1].split(",")[6]) for lines in (um_tops, cm_tops))
    quiet_from = max(quiet_from, btc[2599].time_ms, coin[-1].time_ms, int(eth[-1].split(",")[4]))
    tail = quiet_from - quiet_from % 250 + 120_100 - btc[2600].time_ms
    btc[2600:] = [dataclasses.replace(row, time_ms=row.time_ms + tail) for row in btc[2600:]]
    write(um, "BTCUSDT-trades-2024-01-02", UM_TRADES_HEADER, trades_lines(btc), zipped=True)
    write(um, "BTCUSDT-aggTrades-2024-01-02", AGG_HEADER, agg_lines(btc[:2600:2]), zipped=True)
    write(um, "BTCUSDT-bookTicker-2024-01-02", BOOK_HEADER, um_tops, zipped=True)
    write(um, "ETHUSDT-trades-2024-01-02", UM_TRADES_HEADER, eth, zipped=True)
    write(cm, "BTCUSD_PERP-aggTrades-2024-01-02", None, agg_lines(coin), zipped=True)
    write(cm, "BTCUSD_PERP-bookTicker-2024-01-02", BOOK_HEADER, cm_tops, zipped=True)


def _steps(folder: Path, batch: int, churn: random.Random | None) -> list[tuple[_Step, set[str] | None]]:
    """Each step's payloads by stream, and what the plants followed in it (None: all).
    With ``churn`` they follow a demand that changes between the steps: the names the
    market views read always, and kline (and other) names taken and let go, mostly none.
    Without depth streams, as the replay is served: nothing else ticks every 100 ms."""
    files = open_replay([folder], now_ms=T0, start_ms=START)
    plants = {m: Plant(m, insts, now_ms=START, depth_streams=False) for m, insts in files.instruments.items()}
    replayer = Replayer(files.events, plants, START * 1000, runs=files.runs)
    replayer.warm(START * 1000)
    wanted = Subscribed()
    if churn is not None:
        replayer.follow(wanted)
        for market, insts in files.instruments.items():
            for name in MarketView(market, insts).streams():
                wanted.hold(name)
    names = [
        f"{s}@{kind}"
        for s in ("btcusdt", "ethusdt", "btcusd_perp")
        for kind in ("kline_1m", "kline_3m", "trade")
    ]
    names += ["btcusdt_perpetual@continuousKline_1s", "btcusd_perpetual@continuousKline_1m"]
    steps: list[tuple[_Step, set[str] | None]] = []
    while replayer.next_us is not None:
        outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
        replayer.step(1 << 62, batch, outs, [])
        step: _Step = defaultdict(list)
        for market, out in outs.items():
            for stream, payload in out:
                step[market, stream].append(payload)
        steps.append((step, set(wanted) if churn is not None else None))
        if churn is not None:
            held = [name for name in names if name in wanted]
            if held and churn.random() < 0.4:  # mostly nobody on a kline: rows pass its ticks
                for name in held:
                    wanted.release(name)
            elif churn.random() < 0.4:
                wanted.hold(churn.choice(names))
    return steps


# Seeds whose churn takes a kline just after rows went past its ticks, and leaves one to
# the quiet stretch: each case fails if the candles do not catch up (``catch_up`` a no-op),
# and if a tick the rows went past is ticked as any other after a quiet stretch.
@pytest.mark.parametrize(("seed", "batch"), [(24, 90), (24, 300), (20, 1200)])
def test_a_replay_following_a_demand_writes_exactly_the_wanted_part_of_everything(
    tmp_path: Path, seed: int, batch: int
) -> None:
    """With no kline stream taken, a stretch goes past the kline ticks (the candles catch
    up on their own: ``KlineStreams.catch_up``, the ticks follow late): a client that takes
    a kline, or any stream, between two steps gets what a plant writing everything wrote
    for it in each step."""
    _dense_files(tmp_path, seed)
    full = _steps(tmp_path, batch, None)
    followed = _steps(tmp_path, batch, random.Random(seed))
    assert len(followed) == len(full) > 8
    klines_taken = klines_written = 0
    for number, ((everything, _), (some, wanted)) in enumerate(zip(full, followed, strict=True)):
        assert wanted is not None
        expected = {key: payloads for key, payloads in everything.items() if key[1] in wanted}
        assert some == expected, f"step {number}"
        if any(_is_kline(name) for name in wanted):
            klines_taken += 1
            klines_written += any(_is_kline(stream) for _, stream in some)
    assert 0 < klines_taken < len(full), "steps with a kline taken and steps with none"
    assert klines_written, "a kline written for somebody"


def _is_kline(stream: str) -> bool:
    return "@kline_" in stream or "@continuousKline_" in stream
