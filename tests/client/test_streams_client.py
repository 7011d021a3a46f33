"""tickerplant.client.MarketStreams against a real tickerplant, with faults injected
through the server's own configuration. Time the client decides on (rollover, pacing)
runs on a manual clock; what the server decides on runs for real, but for a second's
pushes, whose market runs its seconds as fast as it steps (``driven_clock``), and every
wait is "until this holds", with a deadline."""

from __future__ import annotations

import asyncio
import itertools
import math
import socket
from decimal import Decimal
from typing import Any

import pytest
from collecting import collect_until
from conftest import StartServer
from driven_clock import driven
from ports import free_port
from timing import SECONDS, eventually

from tickerplant.client.backlog import Lagged
from tickerplant.client.connections import SubscribeRefused
from tickerplant.client.events import BookTicker, DepthUpdate, MiniTicker, Trade
from tickerplant.client.sequencing import Gap
from tickerplant.client.streams import MarketStreams
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market


def trade_ids(items: list[Any], symbol: str) -> list[int]:
    return [i.trade_id for i in items if isinstance(i, Trade) and i.symbol == symbol]


def books(items: list[Any], symbol: str | None = None) -> list[BookTicker[Any]]:
    return [i for i in items if isinstance(i, BookTicker) and symbol in (None, i.symbol)]


async def test_typed_events_subscribe_and_unsubscribe(start_server: StartServer) -> None:
    clock = ManualClock()  # the server's: the miniTicker array's seconds pass at once
    plant = await start_server(clock=clock)
    async with MarketStreams(plant.url(Market.UM)) as streams, driven(plant, clock):
        await streams.subscribe("btcusdt@bookTicker", "btcusdt@trade", "!miniTicker@arr")

        def enough(items: list[Any]) -> bool:
            minis = {i.symbol for i in items if isinstance(i, MiniTicker)}
            return len(books(items)) >= 5 and bool(trade_ids(items, "BTCUSDT")) and len(minis) > 10

        items = await collect_until(streams, enough, 10 * SECONDS)
        assert all(b.symbol == "BTCUSDT" and isinstance(b.bid_price, Decimal) for b in books(items))
        assert all(b.bid_price < b.ask_price for b in books(items))
        assert not [i for i in items if isinstance(i, Gap)]
        await streams.unsubscribe("btcusdt@trade", "!miniTicker@arr")
        # A fence: ETHUSDT's updates start after the UNSUBSCRIBE was answered, so nothing
        # of the unsubscribed streams may follow the first of them.
        await streams.subscribe("ethusdt@bookTicker")
        before = await collect_until(streams, lambda got: bool(books(got, "ETHUSDT")), 10 * SECONDS)
        later = await collect_until(streams, lambda got: len(got) >= 20, 10 * SECONDS)
        assert before[-1].symbol == "ETHUSDT"
        assert all(isinstance(i, BookTicker) for i in later)


async def test_rollover_before_the_age_limit_loses_and_repeats_nothing(start_server: StartServer) -> None:
    market_clock = ManualClock()  # the server's: its trades come as fast as the market steps
    plant = await start_server(clock=market_clock)
    clock = ManualClock()
    async with MarketStreams(plant.url(Market.UM), rollover_after_s=600.0, clock=clock) as streams, \
            driven(plant, market_clock):  # fmt: skip
        await streams.subscribe("btcusdt@trade", "ethusdt@trade", "btcusdt@bookTicker")
        items: list[Any] = []
        for rolled in range(1, 5):
            items += await collect_until(
                streams, lambda got: len(trade_ids(got, "BTCUSDT")) >= 3, 10 * SECONDS
            )
            clock.advance(599_999)
            assert streams.rollovers == rolled - 1, "not before rollover_after_s"
            clock.advance(1)
            items += await collect_until(streams, lambda got, n=rolled: streams.rollovers >= n, 10 * SECONDS)
        items += await collect_until(streams, lambda got: len(trade_ids(got, "ETHUSDT")) >= 3, 10 * SECONDS)
        assert streams.rollovers == 4 and streams.reconnects == 0 and streams.connections == 1
    assert not [i for i in items if isinstance(i, Gap)]
    for symbol in ("BTCUSDT", "ETHUSDT"):
        ids = trade_ids(items, symbol)
        assert ids == list(range(ids[0], ids[0] + len(ids))), "every trade exactly once, in order"
    updates = [i.update_id for i in books(items)]
    assert updates == sorted(set(updates))


async def test_a_dropped_connection_is_reopened_and_what_was_missed_is_a_gap(
    start_server: StartServer,
) -> None:
    plant = await start_server(faults={"drop_after_s": 0.3})
    async with MarketStreams(plant.url(Market.UM), delays=lambda: iter([0.05] * 1000)) as streams:
        await streams.subscribe("btcusdt@trade", "btcusdt@bookTicker")

        def reopened_twice(items: list[Any]) -> bool:
            gaps = [n for n, i in enumerate(items) if isinstance(i, Gap) and i.kind == "bookTicker"]
            return len(gaps) >= 2 and bool(trade_ids(items[gaps[-1] :], "BTCUSDT"))

        items = await collect_until(streams, reopened_twice, 10 * SECONDS)
        assert streams.reconnects >= 2
    ids = trade_ids(items, "BTCUSDT")
    assert len(ids) == len(set(ids)), "no trade twice"
    covered = set(ids)
    for gap in (i for i in items if isinstance(i, Gap)):
        if gap.first_missing is not None and gap.last_missing is not None:
            covered |= set(range(gap.first_missing, gap.last_missing + 1))
    assert covered == set(range(min(ids), max(ids) + 1)), "every trade id delivered or reported missing"


async def test_a_silent_server_is_detected_by_ping(start_server: StartServer) -> None:
    plant = await start_server(faults={"stall_after_s": 0.3})
    streams = MarketStreams(
        plant.url(Market.CM), ping_interval_s=0.2, pong_timeout_s=0.2, delays=lambda: iter([0.05] * 1000)
    )
    async with streams:
        await streams.subscribe("btcusd_perp@bookTicker")

        def resumed(items: list[Any]) -> bool:
            gaps = [n for n, i in enumerate(items) if isinstance(i, Gap)]
            return bool(gaps) and bool(books(items[gaps[0] + 1 :]))

        await collect_until(streams, resumed, 10 * SECONDS)
        assert streams.reconnects >= 1


async def test_more_streams_than_a_connection_may_carry(start_server: StartServer) -> None:
    clock = ManualClock()  # the server's: the miniTickers' seconds pass at once
    plant = await start_server(limits={"max_streams": 3}, clock=clock)
    symbols = {i.symbol for i in plant.instruments[Market.UM][:8]}
    async with MarketStreams(plant.url(Market.UM), max_streams_per_connection=3) as streams, driven(plant, clock):
        await streams.subscribe(*(f"{s.lower()}@miniTicker" for s in sorted(symbols)))
        assert streams.connections == 3

        def every_symbol(items: list[Any]) -> bool:
            return {i.symbol for i in items if isinstance(i, MiniTicker)} == symbols

        await collect_until(streams, every_symbol, 10 * SECONDS)
        assert streams.reconnects == 0


async def test_a_refused_subscribe_raises_and_the_connections_other_streams_come_back(
    start_server: StartServer,
) -> None:
    """Past the server's cap (a client that allows more per connection than the server: code 4,
    then 1008, spec §2.5) and a name no server takes: ``subscribe`` raises, the refused names
    leave the plan, and the streams the connection carried before come back after the drop:
    never asked again, the refused names cannot keep it down."""
    plant = await start_server(limits={"max_streams": 2})
    async with MarketStreams(plant.url(Market.UM), delays=lambda: iter([0.05] * 1000)) as streams:
        await streams.subscribe("btcusdt@trade", "btcusdt@bookTicker")
        with pytest.raises(SubscribeRefused) as refused:
            await streams.subscribe("ethusdt@bookTicker")  # the third: over the server's 2
        assert refused.value.names == ["ethusdt@bookTicker"]
        with pytest.raises(TypeError):
            await streams.subscribe(123)  # type: ignore[arg-type]  (a mistake no server takes)
        for wrong in (123, None, ["btcusdt@trade"], ""):  # taken before: nothing done, or failing by the way
            with pytest.raises(TypeError, match="stream names are non-empty strings"):
                await streams.unsubscribe(wrong)  # type: ignore[arg-type]

        def back(items: list[Any]) -> bool:  # over the connection opened after the 1008
            return streams.reconnects >= 1 and len(books(items, "BTCUSDT")) >= 5

        items = await collect_until(streams, back, 10 * SECONDS)
        assert streams.connections == 1
        assert not books(items, "ETHUSDT")
    async with MarketStreams(plant.url(Market.UM), delays=lambda: iter([0.05] * 1000)) as streams:
        with pytest.raises(SubscribeRefused):  # a first connection's whole SUBSCRIBE: none left
            await streams.subscribe("btcusdt@trade", "btcusdt@bookTicker", "ethusdt@trade")
        # no connection kept open for nothing: its keeper ended (it reopened an empty one)
        await eventually(lambda: not streams._connections._keepers)
        assert streams.connections == 0


async def test_control_messages_are_paced_on_the_clock(start_server: StartServer) -> None:
    plant = await start_server(limits={"max_incoming_rate": 1000})  # the pace is the client's
    names = [f"{i.symbol.lower()}@bookTicker" for i in plant.instruments[Market.UM][:16]]
    clock = ManualClock()
    start_ms = clock.now_ms()
    async with MarketStreams(plant.url(Market.UM), clock=clock) as streams:
        await streams.subscribe(names[0])
        tasks = [asyncio.ensure_future(streams.subscribe(name)) for name in names[1:]]
        # The default pace, 5 in any second: the first connection's SUBSCRIBE and four more
        # go at once, then five a second later, and so on, as the clock says.
        for done, second in ((4, 0), (9, 1), (14, 2), (15, 3)):
            async with asyncio.timeout(10 * SECONDS):
                while sum(t.done() for t in tasks) < done:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            assert sum(t.done() for t in tasks) == done
            if done < len(tasks):
                due = clock.next_due_ms
                assert due == pytest.approx(start_ms + 1000 * (second + 1), abs=10)
                clock.set(math.ceil(due))
        for task in tasks:
            task.result()
        await collect_until(streams, lambda got: len(got) >= 16, 10 * SECONDS)
        assert streams.reconnects == 0


class DepthCount:
    """How many depth updates a growing list of items holds, each item looked at once."""

    def __init__(self) -> None:
        self.looked = 0
        self.count = 0

    def __call__(self, items: list[Any]) -> int:
        self.count += sum(isinstance(item, DepthUpdate) for item in items[self.looked :])
        self.looked = len(items)
        return self.count


async def test_a_consumer_that_falls_behind_stops_reading(start_server: StartServer) -> None:
    # The server's send buffer well above what a paused client can leave it holding here:
    # this is about the client's pause, not the server's cut (a loaded machine's pump
    # publishes seconds of catch-up in one batch, past the default 8 MiB)
    # A busy market (20,000 actions a second): the 6,000 items below come in a third of a
    # second of it, where 5,000 a second left the test waiting on the market for 1.5 s
    plant = await start_server(simulator={"actions_per_s": 20_000.0}, limits={"send_buffer_bytes": 64 << 20})
    surface = plant.listeners[Market.UM].streams
    assert surface is not None
    kinds = ("bookTicker", "trade", "depth@100ms")  # every UM symbol's: the bytes fill sockets
    names = [f"{inst.symbol.lower()}@{kind}" for inst in plant.instruments[Market.UM] for kind in kinds]
    async with MarketStreams(plant.url(Market.UM), pause_at=100, resume_at=10) as slow:
        await slow.subscribe(*names)
        (connection,) = surface.connections
        # The kernel's send buffer held small (left alone, it grows to 4 MiB): the sockets fill
        # within a second of a modest market's bytes; filling 4 MiB took a market busy enough
        # to keep a core at work for seconds
        sock = connection.transport.underlying_transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 10)
        # Nobody reads ``slow``: past pause_at it stops reading, the sockets' buffers fill,
        # and the server is left holding what it cannot send. That is what stopping reading
        # means, however fast the market publishes (had it read on, the server would hold
        # nothing: the client would have taken it all in).
        await eventually(lambda: connection.unsent_bytes() > 0, 20 * SECONDS)
        # Then it reads on where it stopped: nothing dropped, nothing repeated.
        # Until the depth chains have some length too: a loaded machine's pump may publish
        # thousands of trades in one batch, between two 100 ms depth pushes.
        depth = DepthCount()
        items = await collect_until(slow, lambda got: len(got) >= 6000 and depth(got) >= 40, 20 * SECONDS)
    dropped = [i for i in items if isinstance(i, Lagged | Gap)]
    assert not dropped, f"it paused: nothing was dropped, but {dropped[:3]}"
    trades: dict[str, list[int]] = {}
    chains: dict[str, list[tuple[int, int]]] = {}
    for item in items:
        if isinstance(item, Trade):
            trades.setdefault(item.symbol, []).append(item.trade_id)
        elif isinstance(item, DepthUpdate):
            chains.setdefault(item.symbol, []).append((item.previous_final_update_id, item.final_update_id))
    assert trades and chains
    for ids in trades.values():
        assert ids == list(range(ids[0], ids[0] + len(ids))), "every fill, once, in order"
    for chain in chains.values():
        assert all(pu == u for (_, u), (pu, _) in itertools.pairwise(chain)), "the depth chain holds"
    for symbol in {b.symbol for b in books(items)}:
        ids = [b.update_id for b in books(items, symbol)]
        assert ids == sorted(set(ids)), f"{symbol}: each bookTicker once, in order"


async def test_a_paused_consumer_still_gets_every_reply(start_server: StartServer) -> None:
    # busy enough that the reader's 500 tops come within a quarter second (at 2,000 actions a
    # second the test waited 1.5 s on the market for them)
    plant = await start_server(simulator={"actions_per_s": 10_000.0})
    slow = MarketStreams(plant.url(Market.CM), pause_at=100, resume_at=50)
    async with slow, MarketStreams(plant.url(Market.CM), numbers=str) as reader:
        await slow.subscribe("!bookTicker")
        await reader.subscribe("!bookTicker")
        await collect_until(reader, lambda got: len(got) >= 500, 10 * SECONDS)  # slow paused meanwhile
        # Replies queue behind data: a paused connection reads until both are in.
        async with asyncio.timeout(10 * SECONDS):
            await asyncio.gather(slow.subscribe("btcusd_perp@trade"), slow.subscribe("ethusd_perp@trade"))
        items = await collect_until(slow, lambda got: bool(trade_ids(got, "BTCUSD_PERP")), 10 * SECONDS)
    assert books(items)


async def test_a_waiting_consumer_is_woken_by_a_frame_and_by_close(start_server: StartServer) -> None:
    plant = await start_server()
    async with MarketStreams(plant.url(Market.UM), numbers=str) as streams:
        pending = asyncio.ensure_future(anext(aiter(streams)))
        await asyncio.sleep(0)
        assert not pending.done()
        await streams.subscribe("btcusdt@bookTicker")
        assert isinstance(await asyncio.wait_for(pending, 10 * SECONDS), BookTicker)
    idle = MarketStreams(plant.url(Market.UM))
    pending = asyncio.ensure_future(anext(aiter(idle)))
    await asyncio.sleep(0)
    await idle.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 10 * SECONDS)


async def test_subscribe_after_close_is_an_error() -> None:
    streams = MarketStreams("ws://127.0.0.1:1")
    await streams.close()
    with pytest.raises(RuntimeError):
        await streams.subscribe("btcusdt@bookTicker")


async def test_prices_as_the_original_strings(start_server: StartServer) -> None:
    plant = await start_server()
    async with MarketStreams(plant.url(Market.UM), numbers=str) as streams:
        await streams.subscribe("btcusdt@bookTicker")
        item = await asyncio.wait_for(anext(streams), 10 * SECONDS)
    assert isinstance(item, BookTicker) and isinstance(item.bid_price, str) and item.bid_price.count(".") == 1


async def test_two_consumers_of_one_client_both_read_and_both_end_at_its_close(start_server: StartServer) -> None:
    """Two tasks iterating one ``MarketStreams``: both are handed items (the first starved
    once the second waited), and both iterations end at ``close`` (the first waited for ever)."""
    plant = await start_server()
    streams = MarketStreams(plant.url(Market.UM))
    await streams.subscribe("btcusdt@depth5@100ms", "ethusdt@depth5@100ms")  # ten frames a second each
    counts = {"a": 0, "b": 0}

    async def consume(name: str) -> None:
        async for _ in streams:
            counts[name] += 1
            await asyncio.sleep(0)  # a consumer that lets the other run

    tasks = [asyncio.create_task(consume(name)) for name in counts]
    await eventually(lambda: min(counts.values()) >= 3, 10 * SECONDS)
    await streams.close()
    async with asyncio.timeout(5 * SECONDS):
        await asyncio.gather(*tasks)


async def test_a_refused_subscribe_names_every_name_it_did_not_get(start_server: StartServer) -> None:
    """Names in paced chunks of 200; the first past the server's cap is refused (code 4, then
    its 1008): the chunks after it are not asked for either, and ``SubscribeRefused.names``
    lists them too (it named the refused chunk alone, the rest planned, refused again at
    the reconnect and given up in a log line)."""
    plant = await start_server(limits={"max_streams": 150})
    names = [f"x{n}usdt@aggTrade" for n in range(300)]
    async with MarketStreams(plant.url(Market.UM), delays=lambda: iter([0.05] * 1000)) as streams:
        with pytest.raises(SubscribeRefused) as refused:
            await streams.subscribe(*names)
        assert refused.value.names == names
        plan = streams._connections.plans[""]
        assert not any(plan.streams_of(i) for i in plan.connections()), "nothing left planned"


async def test_a_subscribe_waiting_for_its_first_connection_is_raised_when_the_client_closes() -> None:
    """``close`` while the first connection is still opening (here it never can: nothing
    listens) raises the subscribe waiting for it, as a subscribe on a closed client does,
    where it stayed pending for ever."""
    streams = MarketStreams(f"ws://127.0.0.1:{free_port()}")
    subscribing = asyncio.ensure_future(streams.subscribe("btcusdt@trade"))
    await asyncio.sleep(0)  # it began: its first connection is being opened
    await streams.close()
    with pytest.raises(RuntimeError, match="closed before its first connection was ready"):
        await asyncio.wait_for(subscribing, 5 * SECONDS)
