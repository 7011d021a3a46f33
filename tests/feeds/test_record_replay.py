"""Record what a server sends, replay the recording in another server: the same
messages, byte for byte, in the same order, with the recorded timing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import websockets
from conftest import StartServer

from tickerplant.app import Tickerplant
from tickerplant.client.streams import split_combined
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.market.instruments import Market
from tickerplant.recording.format import Recorded, read_recording
from tickerplant.recording.recorder import record

STREAMS = ["btcusdt@bookTicker", "ethusdt@trade", "btcusdt@aggTrade", "!miniTicker@arr", "btcusdt@ticker"]


async def _record(url: str, out: Path, seconds: float) -> list[Path]:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return await record(url, STREAMS, out, stop=stop)


async def _receive_until_finished(url: str, resume: Any) -> list[tuple[str, bytes, float]]:
    got: list[tuple[str, bytes, float]] = []
    loop = asyncio.get_running_loop()
    async with websockets.connect(f"{url}/stream?streams={'/'.join(STREAMS)}", max_size=None) as ws:
        resume()
        with pytest.raises(websockets.ConnectionClosedOK):
            while True:
                frame = await asyncio.wait_for(ws.recv(decode=False), 10)
                stream, data = split_combined(frame)
                got.append((stream, data, loop.time()))
    return got


async def test_a_replayed_recording_is_byte_identical_in_order_and_timing(
    start_server: StartServer, tmp_path: Path
) -> None:
    upstream = await start_server()
    files = await _record(upstream.url(Market.UM), tmp_path, 1.2)
    recorded = [
        item for path in files for item in read_recording(path)[1] if isinstance(item, Recorded)
    ]
    assert len({item.stream for item in recorded}) >= 3  # @ticker comes every 2 s: maybe not yet
    span_s = (recorded[-1].received_us - recorded[0].received_us) / 1e6
    speed = 2.0
    config = ServerConfig(
        um_port=0, cm_port=0, replay=ReplayConfig(paths=(str(tmp_path),), speed=speed, paused=True)
    )
    replaying = Tickerplant(config)
    await replaying.start()
    try:
        assert {i.symbol for i in replaying.instruments[Market.UM]} >= {"BTCUSDT", "ETHUSDT"}
        source = replaying.source
        got = await _receive_until_finished(replaying.url(Market.UM), source.resume)  # type: ignore[attr-defined]
    finally:
        await replaying.close()
    assert [(s, d) for s, d, _ in got] == [(i.stream, i.data) for i in recorded], "byte for byte, in order"
    took = got[-1][2] - got[0][2]
    assert span_s / speed * 0.8 - 0.05 < took < span_s / speed * 1.25 + 0.2, (took, span_s)
    # the recorded gaps between messages are kept, scaled by the speed
    mid = len(got) // 2
    recorded_mid = (recorded[mid].received_us - recorded[0].received_us) / 1e6 / speed
    assert abs((got[mid][2] - got[0][2]) - recorded_mid) < 0.15


async def test_replayed_recordings_feed_the_request_surfaces_too(start_server: StartServer, tmp_path: Path) -> None:
    upstream = await start_server()
    files = await _record(upstream.url(Market.UM), tmp_path, 0.8)
    last_book = [i for p in files for i in read_recording(p)[1] if isinstance(i, Recorded) and i.stream == STREAMS[0]][-1]
    config = ServerConfig(um_port=0, cm_port=0, replay=ReplayConfig(paths=(str(tmp_path),), speed=None))
    replaying = Tickerplant(config)
    await replaying.start()
    try:
        await asyncio.wait_for(replaying.done.wait(), 10)
        view = replaying.listeners[Market.UM].view
        symbol = view.symbol("BTCUSDT")
        assert symbol is not None and symbol.book_ticker == last_book.data
        book = view.book(symbol)
        assert book.top() is not None, "depth answers from the recorded top of book"
    finally:
        await replaying.close()


def test_a_rotated_recording_plays_as_one_sequence(tmp_path: Path) -> None:
    from tickerplant.feeds.replay import Passthrough
    from tickerplant.feeds.replay_files import open_replay
    from tickerplant.recording.format import RecordingWriter

    payloads = [b'{"e":"bookTicker","u":%d,"s":"BTCUSDT","b":"1.0","B":"1","a":"1.1","A":"1","T":1,"E":1}' % i for i in range(50)]
    with RecordingWriter(tmp_path, Market.UM, "ws://x", ["btcusdt@bookTicker"], rotate_bytes=800) as writer:
        for i, payload in enumerate(payloads):
            writer.write(Recorded(1_000_000 + i, "btcusdt@bookTicker", payload), 1_000_000 + i)
        files = list(writer.files)
    assert len(files) > 3
    replay = open_replay([tmp_path], now_ms=0)
    events = list(replay.events)
    assert {index for _, index, _ in events} == {0}, "one merge input for one recorder"
    assert [e.payload for _, _, e in events if isinstance(e, Passthrough)] == payloads
