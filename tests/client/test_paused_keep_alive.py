"""A consumer that stays behind: past ``pause_at`` the connections stop reading, and a pong
behind the unread frames cannot be read either. The client's keep-alive does not take that
for a silent server (it closed its own serving connection every ping interval and pong
timeout, losing what was in flight): cutting a client that stays behind is the server's."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import StartServer
from timing import SECONDS, eventually

from tickerplant.client import Gap, MarketStreams, StreamsLost
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market


async def test_a_paused_connection_is_not_taken_for_a_silent_one(start_server: StartServer) -> None:
    plant = await start_server()
    clock = ManualClock()  # the client's: its keep-alive's pings and pong timeouts run on it
    async with MarketStreams(
        plant.url(Market.UM), pause_at=20, resume_at=5, ping_interval_s=20.0, pong_timeout_s=20.0,
        report_losses=True, clock=clock,
    ) as streams:  # fmt: skip
        # a stream pushed as it changes: `!bookTicker` is pushed every 5 s (Binance's speed)
        await streams.subscribe("btcusdt@bookTicker", "!markPrice@arr@1s")
        backlog = streams._connections.backlog
        await eventually(lambda: backlog.paused, 10 * SECONDS)  # nobody reads: paused
        for _ in range(6):  # three pings and pong timeouts, the consumer behind
            clock.advance(20_000)
            for _ in range(5):
                await asyncio.sleep(0)  # (turns of the loop, not time)
        read: list[Any] = []
        async with asyncio.timeout(10 * SECONDS):
            async for item in streams:
                read.append(item)
                if len(read) >= 200:
                    break
        assert streams.reconnects == 0
        assert not [i for i in read if isinstance(i, StreamsLost | Gap)], "nothing lost"
