"""USDⓈ-M's asset index streams over real sockets (spec §3.5): Binance's modular SDK at its
defaults reads `!assetIndex@arr` (its ``websocket_streams.asset_index``), a raw client
`<assetSymbol>@assetIndex` under `/market`; each second's figures are the ones ``GET
/fapi/v1/assetIndex`` answers, at the mark the same second's `btcusdt@markPrice@1s` pushed.
COIN-M has none: acknowledged and silent."""

from __future__ import annotations

import asyncio
import contextlib
from fractions import Fraction
from typing import Any

import aiohttp
import msgspec
from conftest import StartServer
from driven_clock import driven
from test_binance_sdk import sdk

from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.asset_index import asset_index_row


async def test_the_sdk_and_a_raw_client_read_the_asset_index_each_second_at_the_marks(
    start_server: StartServer,
) -> None:
    clock = ManualClock()  # a second of the market in a few ms (driven_clock)
    plant = await start_server(clock=clock)
    marks: dict[int, str] = {}  # E -> BTCUSDT's mark pushed that second
    plant.bus.subscribe(
        Market.UM,
        lambda messages: marks.update(
            (event["E"], event["p"])
            for m in messages
            if isinstance(m, StreamMessage) and m.stream == "btcusdt@markPrice@1s"
            for event in [msgspec.json.decode(m.payload)]
        ),
    )
    client = sdk(plant)
    await client.websocket_streams.create_connection()
    arrays: asyncio.Queue[Any] = asyncio.Queue()
    port = plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as http:
        try:
            handle = await client.websocket_streams.asset_index()
            handle.on("message", arrays.put_nowait)
            combined = f"ws://127.0.0.1:{port}/market/stream?streams=btcusd@assetIndex/btcusdt@markPrice@1s"
            async with http.ws_connect(combined) as raw, \
                    http.ws_connect(f"ws://127.0.0.1:{plant.listeners[Market.CM].port}/ws") as coin:  # fmt: skip
                await coin.send_json({"method": "SUBSCRIBE", "params": ["!assetIndex@arr"], "id": 1})
                assert await coin.receive_json(timeout=10) == {"result": None, "id": 1}
                own: list[dict[str, Any]] = []
                async with driven(plant, clock):
                    first = await asyncio.wait_for(arrays.get(), 10)
                    second = await asyncio.wait_for(arrays.get(), 10)
                    while len(own) < 2:  # the mark's pushes of its seconds beside them (marks)
                        frame = await raw.receive_json(timeout=10)
                        if frame["stream"] == "btcusd@assetIndex":
                            own.append(frame["data"])
                coin_frames: list[Any] = []
                with contextlib.suppress(TimeoutError):
                    coin_frames.append(await coin.receive(timeout=0.3))
                assert coin_frames == [], "COIN-M has no asset index"
        finally:
            await client.websocket_streams.close_connection(close_session=True)
    for array in (first, second):
        assert all(type(e).__name__ in ("AssetIndexResponse", "AssetIndexResponseInner") for e in array), array  # the SDK's model
        entries = {e.s: e for e in array}
        assert {"USDTUSD", "USDCUSD", "BTCUSD", "ETHUSD", "BNBUSD", "FDUSDUSD", "BFUSDUSD"} == set(entries)
        btc = entries["BTCUSD"]
        expected = asset_index_row("BTC", Fraction(marks[btc.E]), btc.E)  # the REST row's figures
        assert (btc.i, btc.b, btc.a, btc.B, btc.A) == (expected["index"], "0.05000000", "0.00000000",
                                                       expected["bidRate"], expected["index"])  # fmt: skip
        assert (btc.q, btc.g, btc.Q, btc.G) == ("0.00000000", "0.00000000", expected["index"], expected["index"])
        assert entries["USDTUSD"].i == entries["USDTUSD"].B == "1.00000000" and btc.e == "assetIndexUpdate"
    assert second[0].E - first[0].E == 1000  # each second
    assert [o["s"] for o in own] == ["BTCUSD", "BTCUSD"] and own[1]["E"] - own[0]["E"] == 1000
    assert list(own[0]) == ["e", "E", "s", "i", "b", "a", "B", "A", "q", "g", "Q", "G"]
    assert own[0]["i"] == asset_index_row("BTC", Fraction(marks[own[0]["E"]]), 0)["index"]
