"""Replay of Binance's public files: the sans-I/O parts, then a real server replaying
generated files to real clients."""

from __future__ import annotations

import asyncio
import random
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import websockets
from clocked import play
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ports import free_port
from public_data import (
    AGG_HEADER,
    BOOK_HEADER,
    DAY_MS,
    T0,
    UM_TRADES_HEADER,
    Row,
    agg_lines,
    book_lines,
    trades,
    trades_lines,
    window,
    write,
)
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.feeds.replay.files import open_replay
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.feeds.replay.public_files import FileKind, identify, lines, rows
from tickerplant.feeds.replay.replayer import ReplayClock, Replayer
from tickerplant.market.instruments import Market
from tickerplant.market.units import bytes_to_units as to_units


def test_file_names_tell_symbol_kind_and_market(tmp_path: Path) -> None:
    um = identify(Path("BTCUSDT-aggTrades-2024-01-01.zip"))
    assert um is not None and (um.symbol, um.kind, um.market) == ("BTCUSDT", FileKind.AGG_TRADES, Market.UM)
    cm = identify(Path("BTCUSD_PERP-trades-2024-01.csv"))
    assert cm is not None and (cm.kind, cm.market, cm.date) == (FileKind.TRADES, Market.CM, "2024-01")
    dated = identify(Path("data/futures/um/daily/bookTicker/BTCUSDT_240329-bookTicker-2024-01-01.zip"))
    assert dated is not None and dated.market is Market.UM
    assert identify(Path("BTCUSDT-1m-2024-01-01.zip")) is None  # klines are not replayed
    assert identify(Path("notes.csv")) is None


def test_units_are_exact() -> None:
    assert to_units(b"26.67000000", 3) == 26670
    assert to_units(b"26.6", 3) == 26600
    assert to_units(b"42000", 1) == 420000
    with pytest.raises(ValueError, match="more than 2 decimals"):
        to_units(b"1.234", 2)


def test_header_rows_are_optional(tmp_path: Path) -> None:
    body = ["1,42000.1,0.5,1,1,1704067200000,true", "2,42000.2,0.25,2,3,1704067200001,false"]
    with_header = write(tmp_path, "BTCUSDT-aggTrades-2024-01-01", AGG_HEADER, body, zipped=True)
    (tmp_path / "b").mkdir()
    bare = write(tmp_path / "b", "BTCUSDT-aggTrades-2024-01-01", None, body, zipped=False)
    assert list(lines(with_header)) == list(lines(bare)) == [b.encode() for b in body]
    file = identify(bare)
    assert file is not None
    parsed = [update for _, _, update in rows(file, 1, 3)]
    assert [(u.agg_id, u.price, u.qty, u.first_trade_id, u.last_trade_id, u.buyer_is_maker) for u in parsed] == [
        (1, 420001, 500, 1, 1, True),
        (2, 420002, 250, 2, 3, False),
    ]


def test_lines_are_read_in_blocks_as_they_are_written(tmp_path: Path) -> None:
    # ~3 MB: lines cross the reader's blocks; CRLF ends, blank lines and no final line end
    body = [f"{i},42000.{i % 10},0.{i % 997:03d},{i},{i},{T0 + i},{'true' if i % 3 else 'false'}" for i in range(60_000)]
    text = AGG_HEADER + "\r\n" + "\r\n".join(body[:30_000]) + "\r\n\r\n\n" + "\n".join(body[30_000:])
    path = tmp_path / "BTCUSDT-aggTrades-2024-01-01.csv"
    path.write_bytes(text.encode())
    assert list(lines(path)) == [b.encode() for b in body]
    file = identify(path)
    assert file is not None
    progress = [0]
    parsed = [update for _, _, update in rows(file, 1, 3, progress=progress)]
    assert len(parsed) == 60_000 and parsed[-1].agg_id == 59_999 and parsed[-1].qty == 59_999 % 997
    assert progress == [sum(len(b) + 1 for b in body)]


def test_a_bad_row_names_the_file_and_row(tmp_path: Path) -> None:
    path = write(tmp_path, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, ["1,42000.1,0.5,1,x,true"], zipped=False)
    file = identify(path)
    assert file is not None
    with pytest.raises(ValueError, match=r"BTCUSDT-trades-2024-01-01\.csv, data row 1"):
        list(rows(file, 2, 3))
    # a row short of a column: how many it has, not Python's "list index out of range"
    path = write(tmp_path, "BTCUSDT-trades-2024-01-02", UM_TRADES_HEADER, ["1,42000.1,0.5,1"], zipped=False)
    file = identify(path)
    assert file is not None
    with pytest.raises(ValueError, match=r"2024-01-02\.csv, data row 1: 4 columns, too few in b'1,42000\.1,0\.5,1'$"):
        list(rows(file, 2, 3))


_INT_SPELLINGS = ["7", "007", " 7", "7 ", "-7", "+7", "1_000", "7.0", "1e3", "x", ""]
_BOOL_SPELLINGS = st.sampled_from(["true", "false", "True", "False", " true", "1", "null", "x"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from([*_INT_SPELLINGS, "99999999999999999999"]), st.sampled_from(_INT_SPELLINGS), _BOOL_SPELLINGS),
        min_size=1, max_size=6,
    ),
    st.randoms(),
)
def test_a_column_reads_each_field_as_int_and_the_true_spellings_do(
    tmp_path: Path, odd: list[tuple[str, str, str]], rng: random.Random
) -> None:
    """The id, time and maker columns of a block are read as whole columns (one JSON
    array each): whatever a field's spelling, the rows read as ``int`` and the recorded
    "true"/"True" read them field by field, or fail naming a row as that does. (A time
    past 2**62 would end the file: an id that large stands for JSON's largest.)"""
    lines_ = [f"{i + 1},42000.5,0.25,0,{T0 + i},false" for i in range(20)]
    for trade_id, time_ms, maker in odd:  # odd fields into random rows
        i = rng.randrange(len(lines_))
        f = lines_[i].split(",")
        f[0], f[4], f[5] = (trade_id if rng.random() < 0.5 else f[0]), (time_ms if rng.random() < 0.5 else f[4]), maker
        lines_[i] = ",".join(f)
    path = write(tmp_path, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, lines_, zipped=False)
    file = identify(path)
    assert file is not None
    expected: list[tuple[int, int, bool]] | str = []
    for number, line in enumerate(lines_, 1):
        f = line.split(",")
        try:
            expected.append((int(f[0]), int(f[4]), f[5] in ("true", "True")))
        except ValueError:
            expected = f"data row {number}"
            break
    try:
        got: list[tuple[int, int, bool]] | str = [(u.trade_id, u.time_ms, u.buyer_is_maker) for _, _, u in rows(file, 1, 2)]
    except ValueError as exc:
        assert isinstance(expected, str), exc
        assert f"{expected}:" in str(exc)
    else:
        assert got == expected


def _dataset(folder: Path) -> dict[str, Any]:
    rng = random.Random(7)
    # USDⓈ-M: trades (with header, csv) over two days' files, and bookTicker (zip)
    btc = trades(rng, 600, T0 + 1000, 42000.0, "0.1", "0.001")
    half = len(btc) // 2
    write(folder, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(btc[:half]), zipped=False)
    write(folder, "BTCUSDT-trades-2024-01-02", UM_TRADES_HEADER, trades_lines(btc[half:]), zipped=True)
    book = book_lines(rng, 400, T0 + 500, 42000.0)
    write(folder, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, [line for _, line in book], zipped=True)
    # COIN-M: aggTrades without a header, zipped
    coin = trades(rng, 300, T0 + 2000, 42000.0, "0.1", "1", aggregates=True)
    write(folder, "BTCUSD_PERP-aggTrades-2024-01-01", None, agg_lines(coin), zipped=True)
    return {"btc": btc, "book": book, "coin": coin}


def _play(folder: Path) -> tuple[dict[Market, list[StreamMessage]], Replayer]:
    files = open_replay([folder], now_ms=T0)
    from tickerplant.market.plant.plant import Plant

    plants = {m: Plant(m, insts, now_ms=T0) for m, insts in files.instruments.items()}
    replayer = Replayer(files.events, plants, runs=files.runs)
    outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
    broken: list[Any] = []
    while replayer.next_us is not None:
        replayer.step(1 << 62, 97, outs, broken)
    replayer.finish(outs)
    return outs, replayer


def _mini_expected(rows_: list[Row], event_ms: int, quote: bool) -> dict[str, Decimal]:
    held = window(rows_, event_ms)
    return {
        "o": held[0].price,
        "c": held[-1].price,
        "h": max(r.price for r in held),
        "l": min(r.price for r in held),
        "v": sum((r.qty for r in held), Decimal(0)),
        **({"q": sum((r.price * r.qty for r in held), Decimal(0))} if quote else {}),
    }


def test_replayed_streams_match_a_direct_computation_over_the_files(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    outs, replayer = _play(tmp_path)
    um = outs[Market.UM]
    books = [msgspec.json.decode(p) for s, p in um if s == "btcusdt@bookTicker"]
    recorded = [line.split(",") for _, line in data["book"]]
    assert [b["u"] for b in books] == [int(r[0]) for r in recorded], "every recorded update id, in order"
    assert [(b["T"], b["E"]) for b in books] == [(int(r[5]), int(r[6])) for r in recorded]
    assert [Decimal(b["b"]) for b in books] == [Decimal(r[1]) for r in recorded]
    trades_out = [msgspec.json.decode(p) for s, p in um if s == "btcusdt@trade"]
    assert [t["t"] for t in trades_out] == [r.first_id for r in data["btc"]]
    assert all(t["E"] == t["T"] for t in trades_out), "event times are the recorded ones"
    minis = [msgspec.json.decode(p) for s, p in um if s == "btcusdt@miniTicker"]
    with_trades = [m for m in minis if m["E"] >= data["btc"][0].time_ms]
    assert len(with_trades) > 20
    for mini in with_trades:
        expected = _mini_expected(data["btc"], mini["E"], quote=True)
        assert {k: Decimal(mini[k]) for k in expected} == expected, mini
    assert with_trades[-1]["c"] == f"{data['btc'][-1].price:.2f}", "the last ticker holds the last trade"
    assert [m["E"] % 2000 for m in minis] == [minis[0]["E"] % 2000] * len(minis), "every 2 s of replay time"
    # COIN-M from aggregates: counts are fills, volumes in contracts, base volume q/price
    cm = outs[Market.CM]
    tickers = [msgspec.json.decode(p) for s, p in cm if s == "btcusd_perp@ticker"]
    last = tickers[-1]
    held = window(data["coin"], last["E"])
    assert last["n"] == sum(r.last_id - r.first_id + 1 for r in held)
    assert (last["F"], last["L"]) == (held[0].first_id, held[-1].last_id)
    assert Decimal(last["v"]) == sum((r.qty for r in held), Decimal(0))
    aggs = [msgspec.json.decode(p) for s, p in cm if s == "btcusd_perp@aggTrade"]
    assert [(a["a"], a["f"], a["l"]) for a in aggs] == [(i + 1000, r.first_id, r.last_id) for i, r in enumerate(data["coin"])]
    assert replayer.finished


def _status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5 * SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _http(url: str, method: str = "GET") -> Any:
    body, headers = (b"{}", {"Content-Type": "application/json"}) if method == "POST" else (None, {})
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=5 * SECONDS) as response:
        return msgspec.json.decode(response.read())


async def test_a_server_replays_files_to_real_clients_and_says_when_it_ends(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    replay = ReplayConfig(paths=(str(tmp_path),), speed=None, paused=True)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=free_port(), replay=replay)
    plant = Tickerplant(config)
    await plant.start()
    try:
        http = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
        assert (await asyncio.to_thread(_http, f"{http}/tickerplant/v1/replay"))["state"] == "paused"
        info = await asyncio.to_thread(_http, f"{http}/fapi/v1/exchangeInfo")
        assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT"], "the replayed symbols are the market"
        url = f"{plant.url(Market.UM)}/stream?streams=btcusdt@bookTicker/btcusdt@miniTicker/btcusdt@aggTrade"
        received: list[Any] = []
        async with websockets.connect(url, max_size=None) as ws:
            # the admin listener's control: the market port changes no state
            refused = await asyncio.to_thread(_status_of, f"{http}/tickerplant/v1/replay/resume")
            assert refused == 404
            await asyncio.to_thread(_http, f"{plant.admin_url()}/api/replay/resume", "POST")
            with pytest.raises(websockets.ConnectionClosedOK) as closed:
                while True:
                    received.append(msgspec.json.decode(await asyncio.wait_for(ws.recv(), 10 * SECONDS)))
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1000, "Replay finished")
        await asyncio.wait_for(plant.done.wait(), 5 * SECONDS)
        status = await asyncio.to_thread(_http, f"{http}/tickerplant/v1/replay")
        assert status["state"] == "finished" and status["events"] == 600 + 400 + 300
        # its time the last event's, which is the files' end (no --end), not 5 s on (the cadences' flush)
        times = {r.time_ms for r in data["btc"] + data["coin"]} | {int(t) for _, b in data["book"] for t in b.split(",")[-2:]}
        assert status["replayTime"] == status["endTime"] == max(times) and status["progress"] == 1.0, status
        books = [m["data"]["u"] for m in received if m["stream"] == "btcusdt@bookTicker"]
        assert books == [u for u, _ in data["book"]]
        aggs = [m["data"]["a"] for m in received if m["stream"] == "btcusdt@aggTrade"]
        assert aggs == [r.first_id for r in data["btc"]], "trades alone: each is its own aggregate"
        # REST after the end answers from the final state: klines match the files
        klines = await asyncio.to_thread(_http, f"{http}/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500")
        by_minute: dict[int, list[Row]] = {}
        for r in data["btc"]:
            by_minute.setdefault(r.time_ms // 60_000 * 60_000, []).append(r)
        assert [k[0] for k in klines] == sorted(by_minute)
        for k in klines:
            rows_ = by_minute[k[0]]
            expected = [
                rows_[0].price, max(r.price for r in rows_), min(r.price for r in rows_), rows_[-1].price,
                sum((r.qty for r in rows_), Decimal(0)),
            ]
            assert [Decimal(x) for x in k[1:6]] == expected
            assert k[8] == len(rows_)
            assert Decimal(k[7]) == sum((r.price * r.qty for r in rows_), Decimal(0))
        book = await asyncio.to_thread(_http, f"{http}/fapi/v1/ticker/bookTicker?symbol=BTCUSDT")
        assert book["lastUpdateId"] == data["book"][-1][0]
        mini = [m["data"] for m in received if m["stream"] == "btcusdt@miniTicker"][-1]
        assert Decimal(mini["c"]) == data["btc"][-1].price
        assert mini["E"] - DAY_MS < data["btc"][0].time_ms
    finally:
        await plant.close()


async def test_a_bad_row_met_while_playing_is_told_in_a_line_and_the_close_and_the_status_says_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A row it cannot read past what the start reads (a file's first 1 MiB): the replay
    ends there, its clients closed 1011 with what it met (the file and the row), the log
    saying it in one line, not a bug's traceback, and its status ``failed``, not ``playing``."""
    t0 = 1_704_067_200_000
    lines_ = [f"{i},4200{i % 10}.5,0.050,2100.000,{t0 + 10 * i},true" for i in range(1, 25_001)]
    lines_[24_500] = f"24501,notaprice,0.050,2100.000,{t0 + 245_010},true"
    write(tmp_path, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, lines_, zipped=False)
    replay = ReplayConfig(paths=(str(tmp_path),), speed=None, paused=True)
    plant = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=free_port(), replay=replay))
    await plant.start()  # the first rows read: it starts
    try:
        http = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
        async with websockets.connect(f"{plant.url(Market.UM)}/ws/btcusdt@aggTrade", max_size=None) as ws:
            await asyncio.to_thread(_http, f"{plant.admin_url()}/api/replay/resume", "POST")
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10 * SECONDS)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        reason = closed.value.rcvd.reason
        assert reason.startswith("source failed: ") and "data row 24501" in reason, reason
        await asyncio.wait_for(plant.done.wait(), 5 * SECONDS)
        assert (await asyncio.to_thread(_http, f"{http}/tickerplant/v1/replay"))["state"] == "failed"
        told = [r for r in caplog.records if r.getMessage().startswith("the source failed: ")]
        assert len(told) == 1 and told[0].exc_info is None and "data row 24501" in told[0].getMessage()
    finally:
        await plant.close()


async def test_speed_keeps_the_replay_clock(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows_ = trades(rng, 40, T0, 100.0, "0.01", "0.1")
    write(tmp_path, "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows_), zipped=False)
    speed = 7.5
    clock = ManualClock()
    source = ReplaySource(ReplayConfig(paths=(str(tmp_path),), speed=speed), clock)
    await source.prepare()
    started_ms = clock.now_ms()
    sink = await play(source, clock, 10 * SECONDS)
    assert sink.reason == "Replay finished"
    played = [(ms, msgspec.json.decode(p)["T"]) for ms, s, p in sink.published if s == "ethusdt@trade"]
    assert len(played) == len(rows_)
    for published_ms, trade_ms in played:
        due_ms = started_ms + (trade_ms - rows_[0].time_ms) / speed
        assert due_ms <= published_ms < due_ms + 1, "each trade when the replay clock reaches it"


def test_a_symbol_with_tops_but_no_trades_has_no_tickers(tmp_path: Path) -> None:
    rng = random.Random(11)
    write(tmp_path, "ETHUSDT-bookTicker-2024-01-01", BOOK_HEADER, [line for _, line in book_lines(rng, 300, T0, 2300.0)], zipped=False)
    outs, _ = _play(tmp_path)
    streams = {stream for stream, _ in outs[Market.UM]}
    assert "ethusdt@bookTicker" in streams
    assert not streams & {"ethusdt@miniTicker", "ethusdt@ticker", "!miniTicker@arr", "!ticker@arr"}


async def test_a_client_that_is_behind_still_gets_everything_then_the_close(tmp_path: Path) -> None:
    rng = random.Random(2)
    rows_ = trades(rng, 6_000, T0, 42000.0, "0.1", "0.001")  # megabytes behind
    write(tmp_path, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows_), zipped=True)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=ReplayConfig(paths=(str(tmp_path),), speed=None, paused=True))
    plant = Tickerplant(config)
    await plant.start()
    try:
        url = f"{plant.url(Market.UM)}/stream?streams=btcusdt@trade/btcusdt@aggTrade"
        async with websockets.connect(url, max_size=None, max_queue=1) as ws:
            plant.source.resume()  # type: ignore[attr-defined]
            # not reading: the replay ends while we are far behind
            await eventually(lambda: plant.finish_reason != "", 10 * SECONDS)
            assert not plant.done.is_set(), "the end waits for the client to take what was sent"
            count = 0
            with pytest.raises(websockets.ConnectionClosedOK) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(decode=False), 10 * SECONDS)
                    count += 1
        assert count == 2 * len(rows_)
        assert closed.value.rcvd is not None and closed.value.rcvd.reason == "Replay finished"
        await asyncio.wait_for(plant.done.wait(), 5 * SECONDS)
    finally:
        await plant.close()


def test_a_ticker_holds_every_trade_of_its_millisecond_whatever_the_batch(tmp_path: Path) -> None:
    lines_ = [f"{i + 1},100.0,1.000,100.0,{T0 + (0 if i == 0 else 2000)},false" for i in range(11)]
    write(tmp_path, "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, lines_, zipped=False)
    for batch in (4096, 5, 1):
        files = open_replay([tmp_path], now_ms=T0)
        from tickerplant.market.plant.plant import Plant

        plants = {m: Plant(m, insts, now_ms=T0) for m, insts in files.instruments.items()}
        replayer = Replayer(files.events, plants, runs=files.runs)
        outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
        while replayer.next_us is not None:
            replayer.step(1 << 62, batch, outs, [])
        replayer.finish(outs)
        minis = [msgspec.json.decode(p) for s, p in outs[Market.UM] if s == "ethusdt@miniTicker"]
        at = [m for m in minis if m["E"] == T0 + 2000]
        assert at and Decimal(at[0]["v"]) == 11, (batch, at)


def test_the_same_day_twice_plays_once_and_a_month_over_its_days_is_refused(tmp_path: Path) -> None:
    rows_ = [f"{i + 1},100.0,1.000,100.0,{T0 + i},false" for i in range(5)]
    write(tmp_path, "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, rows_, zipped=True)
    write(tmp_path, "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, rows_, zipped=False)  # unzipped beside it
    files = open_replay([tmp_path], now_ms=T0, row_by_row=True)
    assert [t for t, _, _ in files.events] == [(T0 + i) * 1000 for i in range(5)]
    (run,) = open_replay([tmp_path], now_ms=T0).runs
    assert run.take(1 << 62)[0] == [T0 + i for i in range(5)]
    write(tmp_path, "ETHUSDT-trades-2024-01", UM_TRADES_HEADER, rows_, zipped=True)
    with pytest.raises(ValueError, match="overlaps"):
        open_replay([tmp_path], now_ms=T0)


def test_a_row_finer_than_the_first_rows_is_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows_ = [f"{i + 1},100.5,1,100.5,{T0 + i},false" for i in range(5000)]
    rows_.append(f"5001,100.05,1,100.05,{T0 + 5000},false")
    rows_.append(f"5002,100.1,1,100.0,{T0 + 5001},false")
    write(tmp_path, "FOOUSDT-trades-2024-01-01", UM_TRADES_HEADER, rows_, zipped=False)
    files = open_replay([tmp_path], now_ms=T0, row_by_row=True)
    assert files.instruments[Market.UM][0].price_decimals == 1  # made from the name and the first rows
    ids = [u.trade_id for _, _, u in files.events]  # type: ignore[union-attr]
    assert len(ids) == 5001 and 5001 not in ids
    assert "data row 5001: '100.05' has more than 1 decimals" in caplog.text
    (run,) = open_replay([tmp_path], now_ms=T0).runs  # the same rows in the runs' columns
    assert run.take(1 << 62)[1][0] == ids


def test_the_nearest_um_or_cm_folder_decides_the_market() -> None:
    file = identify(Path("/home/cm/mirror/data/futures/um/daily/trades/FOOUSD-trades-2024-01-01.zip"))
    assert file is not None and file.market is Market.UM


def test_replay_settings_are_checked() -> None:
    for bad in ({"speed": 0.0}, {"speed": float("nan")}, {"batch_events": 0}, {"start_ms": 2, "end_ms": 1}):
        with pytest.raises(ValueError):
            ReplayConfig(paths=("x",), **bad)  # type: ignore[arg-type]


def test_start_warms_the_statistics_with_the_day_before(tmp_path: Path) -> None:
    rng = random.Random(9)
    rows_ = trades(rng, 3000, T0, 42000.0, "0.1", "0.001")  # about 40 minutes
    write(tmp_path, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows_), zipped=True)
    start_ms = rows_[len(rows_) // 2].time_ms + 1
    files = open_replay([tmp_path], start_ms=start_ms, now_ms=T0)
    from tickerplant.market.plant.plant import Plant

    plants = {m: Plant(m, insts, now_ms=start_ms) for m, insts in files.instruments.items()}
    replayer = Replayer(files.events, plants, start_ms * 1000, runs=files.runs)
    history = replayer.warm(start_ms * 1000)
    before = [r for r in rows_ if r.time_ms < start_ms]
    assert [msgspec.json.decode(p)["a"] for _, p in history[Market.UM]] == [r.first_id for r in before]
    outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
    while replayer.next_us is not None:
        replayer.step(1 << 62, 4096, outs, [])
    assert replayer.events == len(rows_) - len(before), "the warm-up is not replayed"
    trades_out = [msgspec.json.decode(p) for s, p in outs[Market.UM] if s == "btcusdt@trade"]
    assert trades_out[0]["t"] == rows_[len(before)].first_id
    first_mini = next(msgspec.json.decode(p) for s, p in outs[Market.UM] if s == "btcusdt@miniTicker")
    assert first_mini["E"] > start_ms
    expected = _mini_expected(rows_, first_mini["E"], quote=True)
    assert {k: Decimal(first_mini[k]) for k in expected} == expected, "the day before counts"


def test_the_replay_clock_runs_at_its_speed_from_where_it_was_started() -> None:
    clock = ReplayClock(2.5, replay_us=1_000_000, now_ns=7_000_000_000)
    assert clock.replay_us(7_000_000_000) == 1_000_000
    assert clock.replay_us(7_001_000_000) == 1_002_500  # a wall ms is 2.5 replay ms
    assert clock.due_ns(1_002_500) == 7_001_000_000
    assert clock.replay_us(clock.due_ns(1_000_001)) == 1_000_001, "due: never a wake-up too early"
    assert clock.replay_us(clock.due_ns(1_000_001) - 1) < 1_000_001
    clock.restart(5_000_000, now_ns=9_000_000_000)  # after a pause: on from where the replay stood
    assert clock.replay_us(9_000_400_000) == 5_001_000
    with pytest.raises(ValueError):
        ReplayClock(0.0, 0, 0)
