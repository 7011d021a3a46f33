"""Record what a server sends, replay the recording in another server: the same
messages, byte for byte, in the same order, with the recorded timing."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import logging
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
import websockets
from clocked import play
from conftest import StartServer
from recording_clocked import record_clocked
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.client.endpoints import fetch
from tickerplant.client.orderbook import DepthSnapshot, LocalBook
from tickerplant.client.streams import split_combined
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.feeds.replay.files import open_replay
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.feeds.replay.replayer import Passthrough, Replayer, StreamsBroken
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import DepthUpdate
from tickerplant.protocol.endpoints import rest_base, rest_prefix
from tickerplant.recording.format import Recorded, RecordedLoss, RecordedSnapshot, RecordingWriter
from tickerplant.recording.reading import read_recording
from tickerplant.recording.recorder import record

STREAMS = ["btcusdt@bookTicker", "ethusdt@trade", "btcusdt@aggTrade", "!miniTicker@arr", "btcusdt@ticker"]
BOOK = b'{"e":"bookTicker","u":%d,"s":"BTCUSDT","b":"1.0","B":"1","a":"1.1","A":"1","T":1,"E":1}'


async def _record(url: str, out: Path, messages: int) -> list[Path]:
    stop = asyncio.Event()

    def counted(recorded: int) -> None:
        if recorded >= messages:
            stop.set()

    async with asyncio.timeout(10 * SECONDS):
        return await record(url, STREAMS, out, stop=stop, on_message=counted)


async def _receive_until_finished(url: str, resume: object) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    async with websockets.connect(f"{url}/stream?streams={'/'.join(STREAMS)}", max_size=None) as ws:
        resume()  # type: ignore[operator]
        with pytest.raises(websockets.ConnectionClosedOK):
            while True:
                frame = await asyncio.wait_for(ws.recv(decode=False), 10 * SECONDS)
                got.append(split_combined(frame))
    return got


async def test_a_replayed_recording_is_byte_identical_in_order_and_feeds_the_request_surfaces(
    start_server: StartServer, tmp_path: Path
) -> None:
    upstream = await start_server()
    files = await _record(upstream.url(Market.UM), tmp_path, 150)
    recorded = [item for path in files for item in read_recording(path)[1] if isinstance(item, Recorded)]
    assert len({item.stream for item in recorded}) >= 3  # @ticker comes every 2 s: maybe not yet
    config = ServerConfig(
        um_port=0, cm_port=0, admin_port=0, replay=ReplayConfig(paths=(str(tmp_path),), speed=None, paused=True)
    )
    replaying = Tickerplant(config)
    await replaying.start()
    try:
        assert {i.symbol for i in replaying.instruments[Market.UM]} >= {"BTCUSDT", "ETHUSDT"}
        source = replaying.source
        assert isinstance(source, ReplaySource)
        got = await _receive_until_finished(replaying.url(Market.UM), source.resume)
        assert got == [(i.stream, i.data) for i in recorded], "byte for byte, in order"
        await asyncio.wait_for(replaying.done.wait(), 10 * SECONDS)
        view = replaying.listeners[Market.UM].view
        symbol = view.symbol("BTCUSDT")
        last_book = [i for i in recorded if i.stream == STREAMS[0]][-1]
        assert symbol is not None and symbol.book_ticker == last_book.data
        assert view.book(symbol).top() is not None, "depth answers from the recorded top of book"
    finally:
        await replaying.close()


async def test_a_recording_plays_with_its_gaps_scaled_by_the_speed(tmp_path: Path) -> None:
    t0_us = 1_767_225_600_000_000
    offsets_us = [0, 1_000, 1_500, 40_000, 40_001, 250_000, 1_250_000, 1_250_003]
    with RecordingWriter(tmp_path, Market.UM, "ws://x", ["btcusdt@bookTicker"]) as writer:
        for n, offset in enumerate(offsets_us):
            writer.write(Recorded(t0_us + offset, "btcusdt@bookTicker", BOOK % n), t0_us + offset)
        writer.write(RecordedLoss(t0_us + 2_000_000, ("btcusdt@bookTicker",)), t0_us + 2_000_000)
    speed = 2.0
    clock = ManualClock()
    source = ReplaySource(ReplayConfig(paths=(str(tmp_path),), speed=speed), clock)
    await source.prepare()
    started_ms = clock.now_ms()
    sink = await play(source, clock, 10 * SECONDS)
    assert [(s, p) for _, s, p in sink.published] == [("btcusdt@bookTicker", BOOK % n) for n in range(len(offsets_us))]
    for (published_ms, _, _), offset in zip(sink.published, offsets_us, strict=True):
        due_ms = started_ms + offset / 1000 / speed
        assert due_ms <= published_ms < due_ms + 1, "each message when the replay clock reaches its time"
    assert sink.interrupted == [(started_ms + 1000, ("btcusdt@bookTicker",))], "the loss, in its place"
    assert sink.reason == "Replay finished"


async def test_a_paused_replay_holds_its_clock(tmp_path: Path) -> None:
    t0_us = 1_767_225_600_000_000
    with RecordingWriter(tmp_path, Market.UM, "ws://x", ["btcusdt@bookTicker"]) as writer:
        for n in range(3):
            writer.write(Recorded(t0_us + n * 100_000, "btcusdt@bookTicker", BOOK % n), t0_us + n * 100_000)
    clock = ManualClock()
    source = ReplaySource(ReplayConfig(paths=(str(tmp_path),), speed=1.0, paused=True), clock)
    await source.prepare()
    playing = asyncio.create_task(play(source, clock, 10 * SECONDS))
    await asyncio.sleep(0)
    assert source.status()["state"] == "paused"
    clock.advance(60_000)  # a minute of the clock while paused plays nothing
    resumed_ms = clock.now_ms()
    source.resume()
    sink = await playing
    assert [ms - resumed_ms for ms, _, _ in sink.published] == [0, 100, 200]


def rotated(folder: Path) -> tuple[list[bytes], list[Path]]:
    """50 bookTickers recorded into several files of one recording: (payloads, files)."""
    payloads = [BOOK % i for i in range(50)]
    with RecordingWriter(folder, Market.UM, "ws://x", ["btcusdt@bookTicker"], rotate_bytes=800) as writer:
        for i, payload in enumerate(payloads):
            writer.write(Recorded(1_000_000 + i, "btcusdt@bookTicker", payload), 1_000_000 + i)
        files = list(writer.files)
    assert len(files) > 3
    return payloads, files


def test_a_recording_that_cannot_be_read_is_named_with_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``….jsonl.gz`` that is not gzip, or whose gzip ends before its header line, is named
    with why: alone in a folder (nothing to replay), named itself, or skipped with a warning
    beside a recording that plays."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "tickerplant-um-1.jsonl.gz").write_bytes(b"not gzip at all\n")
    (bad / "tickerplant-um-2.jsonl.gz").write_bytes(gzip.compress(b'{"header": 1')[:12])
    with pytest.raises(ValueError, match="not readable as tickerplant recordings") as refused:
        open_replay([bad], now_ms=0)
    assert "tickerplant-um-1.jsonl.gz (Not a gzipped file" in str(refused.value)
    assert "tickerplant-um-2.jsonl.gz (" in str(refused.value)
    with pytest.raises(ValueError, match=r"tickerplant-um-1.jsonl.gz: not readable as a tickerplant recording \(Not a gzipped"):
        open_replay([bad / "tickerplant-um-1.jsonl.gz"], now_ms=0)
    payloads, _ = rotated(bad)  # a recording beside them plays; each of them is named in a warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, "tickerplant.replay"):
        replay = open_replay([bad], now_ms=0)
    assert [event[2].payload for event in itertools.islice(replay.events, 3)] == payloads[:3]  # type: ignore[union-attr]
    assert sum("skipped, not readable as a tickerplant recording" in r.getMessage() for r in caplog.records) == 2


def test_a_rotated_recording_plays_as_one_sequence(tmp_path: Path) -> None:
    payloads, files = rotated(tmp_path)
    replay = open_replay([tmp_path], now_ms=0)
    assert replay.total_bytes == sum(path.stat().st_size for path in files)  # its progress counts them
    first = [next(replay.events) for _ in range(len(list(read_recording(files[0])[1])) + 1)]
    assert 0 < replay.read_bytes[0] < replay.total_bytes, "the first file read, not the rest"
    events = first + list(replay.events)
    assert replay.read_bytes[0] == replay.total_bytes
    assert {index for _, index, _ in events} == {0}, "one merge input for one recorder"
    assert [e.payload for _, _, e in events if isinstance(e, Passthrough)] == payloads


def test_a_rotated_file_cut_short_is_a_loss_where_it_ends(tmp_path: Path) -> None:
    """A recorder killed and started again into the same folder leaves a file cut short
    before the next: what never reached its disk is a gap, told as a recorded loss at its
    last message (clients closed 1012, books dropped), not a silent jump to the next file."""
    payloads, files = rotated(tmp_path)
    cut = files[1].read_bytes()
    files[1].write_bytes(cut[: len(cut) - 8])  # no gzip trailer: its recorder never closed it
    events = [e for _, _, e in open_replay([tmp_path], now_ms=0).events]
    played = [e.payload for e in events if isinstance(e, Passthrough)]
    (gap,) = [n for n, e in enumerate(events) if isinstance(e, StreamsBroken)]
    assert events[gap].streams == ("btcusdt@bookTicker",)
    assert played == payloads, "every line that reached the disk plays"
    assert gap == sum(len(list(read_recording(path)[1])) for path in files[:2]), "where the cut file ends"


# -- depth: recorded with its snapshots, replayed with a book that agrees ---------------------

_depth_update = msgspec.json.Decoder(DepthUpdate[Decimal])
_snapshot = msgspec.json.Decoder(DepthSnapshot)


async def _depth(plant: Tickerplant, market: Market, symbol: str) -> DepthSnapshot:
    url = f"{rest_base(plant.url(market))}{rest_prefix(market)}/depth?symbol={symbol}&limit=1000"
    return _snapshot.decode(await fetch(url))


@pytest.mark.parametrize("market, symbol", [(Market.UM, "BTCUSDT"), (Market.CM, "BTCUSD_PERP")])
async def test_a_replayed_depth_recording_syncs_a_local_book_against_its_own_snapshots(
    start_server: StartServer, tmp_path: Path, market: Market, symbol: str
) -> None:
    """Spec §4.9 steps 1–6 against a replay: the replayed diffs and the replaying server's
    REST snapshot, taken mid-replay, sync; the book ends equal to a later snapshot at the
    same id; and the depth frames are the recorded bytes."""
    lower = symbol.lower()
    book_stream = f"{lower}@depth@100ms"
    streams = [book_stream, f"{lower}@depth5", f"{lower}@depth@500ms"]
    clock = ManualClock()  # the recorded market moves only when the test says
    upstream = await start_server(clock=clock, simulator={"actions_per_s": 400.0})
    files = await record_clocked(upstream, clock, market, streams, tmp_path, messages=30, snapshots=1)
    items = [item for path in files for item in read_recording(path)[1]]
    snapshots = [i for i in items if isinstance(i, RecordedSnapshot)]
    recorded = [i for i in items if isinstance(i, Recorded)]
    assert snapshots and snapshots[0].symbol == symbol, "a snapshot once the diff stream started"
    assert items.index(snapshots[0]) > next(n for n, i in enumerate(items) if isinstance(i, Recorded) and i.stream == book_stream)
    last_u = _depth_update.decode([i for i in recorded if i.stream == book_stream][-1].data).final_update_id

    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=ReplayConfig(paths=(str(tmp_path),), speed=20.0, paused=True))
    replaying = Tickerplant(config)
    await replaying.start()
    try:
        source = replaying.source
        assert isinstance(source, ReplaySource)
        book = LocalBook(symbol)
        got: list[tuple[str, bytes]] = []
        synced_while_playing = False
        async with websockets.connect(f"{replaying.url(market)}/stream?streams={'/'.join(streams)}", max_size=None) as ws:
            source.resume()
            with pytest.raises(websockets.ConnectionClosedOK):
                while True:
                    stream, payload = split_combined(await asyncio.wait_for(ws.recv(decode=False), 10 * SECONDS))
                    got.append((stream, payload))
                    if stream != book_stream:
                        continue
                    book.event(_depth_update.decode(payload))
                    if book.wants_snapshot:
                        # Mid-replay, held still: what the view answers is where the served
                        # diffs stand, or no book at all (id 0) before the recorded snapshot.
                        source.pause()
                        book.snapshot(await _depth(replaying, market, symbol))
                        source.resume()
                    synced_while_playing |= book.synced
        assert synced_while_playing, "a snapshot taken during the replay synced"
        assert book.resyncs == 0, "and the replayed chain never broke it"
        assert got == [(i.stream, i.data) for i in recorded], "byte for byte, in order"
        later = await _depth(replaying, market, symbol)
        assert later.last_update_id == book.update_id == last_u, "the view is where the diffs stopped"
        assert book.bids(len(later.bids)) == later.bids and book.asks(len(later.asks)) == later.asks
    finally:
        await replaying.close()


# -- the futures streams: mark and index prices, klines, liquidations -------------

_FUTURES_UM = {
    "btcusdt@markPrice@1s": b'{"e":"markPriceUpdate","E":1767225601000,"s":"BTCUSDT","p":"87000.12345678",'
    b'"P":"87001.00000000","i":"86990.50000000","r":"0.00010000","T":1767254400000}',
    "!markPrice@arr@1s": b'[{"e":"markPriceUpdate","E":1767225601000,"s":"BTCUSDT","p":"87000.12345678",'
    b'"P":"87001.00000000","i":"86990.50000000","r":"0.00010000","T":1767254400000}]',
    "btcusdt@kline_1m": b'{"e":"kline","E":1767225601250,"s":"BTCUSDT","k":{"t":1767225600000,'
    b'"T":1767225659999,"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"87000.10","c":"87000.20",'
    b'"h":"87000.30","l":"86999.90","v":"12.345","n":101,"x":false,"q":"1074000.12345","V":"6.000",'
    b'"Q":"522000.60000","B":"0"}}',
    "btcusdt_perpetual@continuousKline_1m": b'{"e":"continuous_kline","E":1767225601250,"ps":"BTCUSDT",'
    b'"ct":"PERPETUAL","k":{"t":1767225600000,"T":1767225659999,"i":"1m","f":100,"L":200,"o":"87000.10",'
    b'"c":"87000.20","h":"87000.30","l":"86999.90","v":"12.345","n":101,"x":false,"q":"1074000.12345",'
    b'"V":"6.000","Q":"522000.60000","B":"0"}}',
    "!forceOrder@arr": b'{"e":"forceOrder","E":1767225601300,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT",'
    b'"f":"IOC","q":"0.014","p":"86000.00","ap":"86990.10","X":"FILLED","l":"0.014","z":"0.014",'
    b'"T":1767225601299}}',
}
_FUTURES_CM = {
    "btcusd@indexPrice": b'{"e":"indexPriceUpdate","E":1767225603000,"i":"BTCUSD","p":"86990.12345678"}',
    "btcusd@markPrice@1s": b'[{"e":"markPriceUpdate","E":1767225601000,"s":"BTCUSD_PERP",'
    b'"p":"87000.12345678","P":"87001.00000000","i":"86990.12345678","r":"0.00010000","T":1767254400000}]',
    "btcusd_perp@kline_1m": b'{"e":"kline","E":1767225601250,"s":"BTCUSD_PERP","k":{"t":1767225600000,'
    b'"T":1767225659999,"s":"BTCUSD_PERP","i":"1m","f":100,"L":200,"o":"87000.1","c":"87000.2",'
    b'"h":"87000.3","l":"86999.9","v":"12","n":101,"x":false,"q":"0.01379308","V":"6","Q":"0.00689654",'
    b'"B":"0"}}',
    "btcusd_perp@forceOrder": b'{"e":"forceOrder","E":1767225601300,"o":{"s":"BTCUSD_PERP","ps":"BTCUSD",'
    b'"S":"SELL","o":"LIMIT","f":"IOC","q":"1","p":"86000.0","ap":"86990.1","X":"FILLED","l":"1","z":"1",'
    b'"T":1767225601299}}',
}


def test_a_recording_of_the_futures_streams_replays_byte_for_byte(tmp_path: Path) -> None:
    t0_us = 1_767_225_600_000_000
    for market, recorded in ((Market.UM, _FUTURES_UM), (Market.CM, _FUTURES_CM)):
        with RecordingWriter(tmp_path, market, "ws://x", list(recorded)) as writer:
            for n in range(3):
                for k, (stream, payload) in enumerate(recorded.items()):
                    at = t0_us + n * 1_000_000 + k
                    writer.write(Recorded(at, stream, payload), at)
    files = open_replay([tmp_path], now_ms=0)
    assert {m: [i.symbol for i in insts] for m, insts in files.instruments.items()} == {
        Market.UM: ["BTCUSDT"], Market.CM: ["BTCUSD_PERP"]
    }, "pair streams (`btcusd@indexPrice`, `…_perpetual@continuousKline_1m`) name no symbol"
    served = {inst.symbol: inst for insts in files.instruments.values() for inst in insts}
    replayer = Replayer(files.events, {}, None, served)
    outs: dict[Market, list[StreamMessage]] = {m: [] for m in Market}
    while replayer.next_us is not None:
        replayer.step(1 << 62, 1000, outs, [])
    for market, recorded in ((Market.UM, _FUTURES_UM), (Market.CM, _FUTURES_CM)):
        played = [(m.stream, m.payload) for m in outs[market] if not m.stream.endswith("@markState")]
        assert played == list(recorded.items()) * 3
    # the views' notes of the recorded mark prices: premiumIndex answers what was pushed
    (um_state,) = {m.payload for m in outs[Market.UM] if m.stream == "btcusdt@markState"}
    assert msgspec.json.decode(um_state) == {
        "s": "BTCUSDT", "t": 1767225601000, "p": "87000.12345678", "i": "86990.50000000",
        "P": "87001.00000000", "r": "0.00010000", "ir": "0.00010000", "T": 1767254400000,
    }  # fmt: skip
    cm_states = [msgspec.json.decode(m.payload) for m in outs[Market.CM] if m.stream == "btcusd_perp@markState"]
    # the same moment (one E) thrice is one note (feeds/mark_notes.py: a push on several streams)
    assert len(cm_states) == 1 and cm_states[0]["i"] == "86990.12345678", "from the pair's array"


async def test_a_kept_book_answers_no_book_until_its_snapshot_not_the_top_of_book(tmp_path: Path) -> None:
    """replay.md, "What it plays": until the first recorded snapshot `depth` answers the
    empty book with id 0, also once a bookTicker has played (it answered that top of book
    as a one-level book with the ticker's id, which spec §4.9's procedure syncs against)."""
    t0_us = 1_767_225_600_000_000
    book_stream = "btcusdt@depth@100ms"
    first_diff = (
        b'{"e":"depthUpdate","E":1767225602000,"T":1767225602000,"s":"BTCUSDT","U":900,"u":905,"pu":899,'
        b'"b":[["99.0","1"]],"a":[]}'
    )
    snapshot = b'{"lastUpdateId":902,"E":1,"T":1,"bids":[["100.0","2"]],"asks":[["101.0","1"]]}'
    with RecordingWriter(tmp_path, Market.UM, "ws://x", ["btcusdt@bookTicker", book_stream]) as writer:
        writer.write(Recorded(t0_us, "btcusdt@bookTicker", BOOK % 880), t0_us)
        writer.write(Recorded(t0_us + 2_000_000, book_stream, first_diff), t0_us + 2_000_000)
        writer.write(RecordedSnapshot(t0_us + 3_000_000, "BTCUSDT", snapshot), t0_us + 3_000_000)
    # played slowly: the diff comes 20 s after the bookTicker, long after the test has asked
    replay = ReplayConfig(paths=(str(tmp_path),), speed=0.1, paused=True)
    replaying = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=replay))
    await replaying.start()
    try:
        source = replaying.source
        assert isinstance(source, ReplaySource)
        async with websockets.connect(f"{replaying.url(Market.UM)}/stream?streams=btcusdt@bookTicker") as ws:
            source.resume()
            stream, _ = split_combined(await asyncio.wait_for(ws.recv(decode=False), 10 * SECONDS))
            assert stream == "btcusdt@bookTicker"  # played: the top of book is known
            depth = await _depth(replaying, Market.UM, "BTCUSDT")
        assert (depth.last_update_id, depth.bids, depth.asks) == (0, [], [])
    finally:
        await replaying.close()


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
@pytest.mark.parametrize("start_s", [None, 60])
async def test_a_recording_without_tickers_answers_the_24h_ticker_of_its_trades(
    tmp_path: Path, market: Market, start_s: int | None
) -> None:
    """``ticker/24hr`` with a symbol answers its 24 h (an object, COIN-M an array of one: spec
    §7.7) also where the recording holds no ``@ticker``: the window's statistics from the
    replayed trades, as of the replay's latest time (it answered ``[]``), and ``klines`` their
    candles. With a ``--start`` after two of the trades, the recording's trades before it are
    read into the statistics and the klines too, as the public files' are (docs/replay.md):
    they held only what came after the start."""
    symbol, prefix = ("BTCUSDT", "/fapi") if market is Market.UM else ("BTCUSD_PERP", "/dapi")
    stream = f"{symbol.lower()}@aggTrade"
    t0_ms = 1_767_225_600_000
    trades = [(1, 10, 12, "100.0", "2", 0), (2, 13, 13, "101.5", "1", 30_000), (3, 14, 17, "99.0", "3", 90_000)]
    with RecordingWriter(tmp_path, market, "ws://x", [stream]) as writer:
        for a, f, last, price, qty, after_ms in trades:
            payload = (f'{{"e":"aggTrade","E":{t0_ms + after_ms},"a":{a},"s":"{symbol}","p":"{price}","q":"{qty}",'
                       f'"f":{f},"l":{last},"T":{t0_ms + after_ms},"m":false}}').encode()  # fmt: skip
            writer.write(Recorded((t0_ms + after_ms) * 1000, stream, payload), (t0_ms + after_ms) * 1000)
    start_ms = None if start_s is None else t0_ms + start_s * 1000
    replay = ReplayConfig(paths=(str(tmp_path),), speed=None, start_ms=start_ms)
    replaying = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=replay))
    await replaying.start()
    try:
        source = replaying.source
        assert isinstance(source, ReplaySource)
        await eventually(lambda: source.status()["state"] == "finished", 10 * SECONDS)
        base = f"{rest_base(replaying.url(market))}{prefix}/v1/ticker/24hr"
        answer = msgspec.json.decode(await fetch(f"{base}?symbol={symbol}"))
        if market is Market.CM:  # COIN-M answers an array, a symbol's or a pair's (§7.7)
            (answer,) = answer
        ticker = answer
        assert isinstance(ticker, dict) and ticker["symbol"] == symbol
        assert (ticker["firstId"], ticker["lastId"], ticker["count"]) == (10, 17, 8)
        assert (Decimal(ticker["openPrice"]), Decimal(ticker["lastPrice"]), Decimal(ticker["lastQty"])) == (
            Decimal("100.0"), Decimal("99.0"), Decimal("3"))  # fmt: skip
        assert (Decimal(ticker["highPrice"]), Decimal(ticker["lowPrice"]), Decimal(ticker["volume"])) == (
            Decimal("101.5"), Decimal("99.0"), Decimal("6"))  # fmt: skip
        every = msgspec.json.decode(await fetch(base))
        assert [row["symbol"] for row in every if row["symbol"] == symbol] == [symbol]
        klines = msgspec.json.decode(await fetch(f"{rest_base(replaying.url(market))}{prefix}/v1/klines"
                                                 f"?symbol={symbol}&interval=1m"))  # fmt: skip
        assert [(k[0], Decimal(k[1]), Decimal(k[4]), Decimal(k[5]), k[8]) for k in klines] == [
            (t0_ms, Decimal("100.0"), Decimal("101.5"), Decimal("3"), 4),  # the two trades before the start
            (t0_ms + 60_000, Decimal("99.0"), Decimal("99.0"), Decimal("3"), 4),
        ]
    finally:
        await replaying.close()
