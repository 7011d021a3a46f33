"""Binance's official SDK (`binance-sdk-derivatives-trading-usds-futures`) subscribed to
diff and partial book depth at every speed on one connection (spec §4.8, §4.9, §10.4).

A manual clock drives the pushes; every message the plant publishes on each stream from
the SDK's first one on reaches the stream's callback as the SDK's typed model, with the
same `U`/`u`/`pu` and levels, at its speed's cadence in clock time.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models import (
    DiffBookDepthStreamsResponse,
    PartialBookDepthStreamsResponse,
)
from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models.enums import (
    DiffBookDepthStreamsUpdateSpeedEnum as DiffSpeed,
)
from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models.enums import (
    PartialBookDepthStreamsLevelsEnum as Levels,
)
from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models.enums import (
    PartialBookDepthStreamsUpdateSpeedEnum as PartialSpeed,
)
from conftest import StartServer
from test_binance_sdk import sdk
from test_ccxt import record
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

STEP_MS = 50  # the clock moves in steps that land on every speed's boundary (100, 250, 500 ms)
PUSHES = 4  # pushes of the slowest speed (500 ms) to see after each stream's first

# The SDK formats an enum argument into the stream name as the enum's repr (its
# `ws_streams_placeholder` does f"@{value}" on a plain Enum), so the names are made from
# the enums' values, as the SDK's own examples pass plain strings.
DIFF = {  # stream: (update_speed argument, cadence in ms)
    "btcusdt@depth": (None, 250),
    "btcusdt@depth@500ms": (DiffSpeed.UPDATE_SPEED_500ms.value, 500),
    "btcusdt@depth@100ms": (DiffSpeed.UPDATE_SPEED_100ms.value, 100),
}
PARTIAL = {  # stream: (levels, update_speed argument, cadence in ms)
    "btcusdt@depth10": (Levels.LEVELS_10.value, None, 250),
    "btcusdt@depth20@500ms": (Levels.LEVELS_20.value, PartialSpeed.UPDATE_SPEED_500ms.value, 500),
    "btcusdt@depth5@100ms": (Levels.LEVELS_5.value, PartialSpeed.UPDATE_SPEED_100ms.value, 100),
}


def wire(model: Any) -> dict[str, Any]:
    """The SDK model's fields under their wire keys."""
    return {key: getattr(model, key) for key in ("e", "E", "T", "s", "U", "u", "pu", "b", "a")}


async def test_diff_and_partial_book_depth_streams_deliver_at_their_speeds(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    pushed = {stream: record(plant, Market.UM, stream) for stream in (*DIFF, *PARTIAL)}
    got: dict[str, list[Any]] = {stream: [] for stream in pushed}
    client = sdk(plant)
    await client.websocket_streams.create_connection()
    try:
        # The SDK waits 0.5 s before each SUBSCRIBE it sends (binance_common's
        # SUBSCRIBE_MESSAGE_DELAY_SECONDS, pacing for Binance's 10 messages/s): six calls at
        # once wait that half second together instead of three seconds in a row.
        streams = client.websocket_streams
        handles = await asyncio.gather(
            *(streams.diff_book_depth_streams(symbol="btcusdt", update_speed=speed) for speed, _ in DIFF.values()),
            *(
                streams.partial_book_depth_streams(symbol="btcusdt", levels=levels, update_speed=speed)
                for levels, speed, _ in PARTIAL.values()
            ),
        )
        for stream, handle in zip((*DIFF, *PARTIAL), handles, strict=True):
            handle.on("message", got[stream].append)

        async def step() -> None:
            clock.advance(STEP_MS)
            await eventually(lambda: plant.plants[Market.UM].next_tick_ms > clock.now_ms())

        # Subscribing takes the server a loop turn or two: step until every stream has delivered.
        async with asyncio.timeout(10 * SECONDS):
            while not all(got.values()):
                await step()
        end_ms = clock.now_ms() + PUSHES * 500
        while clock.now_ms() < end_ms:
            await step()

        def delivered(stream: str) -> list[dict[str, Any]]:
            first = got[stream][0].E
            return [event for event in pushed[stream] if event["E"] >= first]

        # Every push since each stream's first has reached its callback.
        await eventually(lambda: all(len(got[s]) == len(delivered(s)) for s in got), 5 * SECONDS)
    finally:
        await client.websocket_streams.close_connection(close_session=True)

    gaps = 0  # events after ids hidden since the previous one, U > pu + 1
    for stream, (_, cadence_ms) in DIFF.items():
        models = got[stream]
        assert all(isinstance(m, DiffBookDepthStreamsResponse) for m in models), stream
        assert [wire(m) for m in models] == delivered(stream), stream
        assert len(models) > 1 and all(m.E % cadence_ms == 0 for m in models), stream
        for previous, model in itertools.pairwise(models):  # §4.9: one chain per speed, as Binance's
            assert model.pu == previous.u < model.U <= model.u, stream
            gaps += model.pu + 1 < model.U
    assert gaps, "Binance's chains skip ids (§4.9): so do these"
    for stream, (levels, _, cadence_ms) in PARTIAL.items():
        models = got[stream]
        assert all(isinstance(m, PartialBookDepthStreamsResponse) for m in models), stream
        assert [wire(m) for m in models] == delivered(stream), stream
        assert all(m.E % cadence_ms == 0 and len(m.b) == len(m.a) == int(levels) for m in models), stream
        # §4.8: a partial push carries its speed's U/u/pu, those of the diff event it goes with
        # (both push exactly when the book moved, so from the later first push on they pair up)
        diff = got[next(s for s, (_, c) in DIFF.items() if c == cadence_ms)]
        start = max(diff[0].E, models[0].E)
        assert [(m.E, m.U, m.u, m.pu) for m in diff if start <= m.E] == [
            (m.E, m.U, m.u, m.pu) for m in models if start <= m.E
        ], stream
