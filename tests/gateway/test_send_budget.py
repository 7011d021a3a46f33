"""The process' unsent bytes, bounded together (gateway/send_budget.py): the sans-I/O
core, then over real sockets: consumers that read nothing, each under its own bound,
together pass the process' bound and the ones holding the most are aborted, while a
healthy subscriber goes on and the budget holds nothing once they are gone."""

from __future__ import annotations

import asyncio

import pytest
from conftest import StartServer
from rawws import CLOSE, TEXT, Frame, RawWebSocket
from scripted_market import ScriptedMarket, book_ticker, publish
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.gateway.send_budget import RELIEF, SendBudget, machine_default
from tickerplant.market.instruments import Market


def test_nothing_is_shed_under_the_bound_and_the_largest_first_over_it() -> None:
    budget = SendBudget(1000)
    assert budget.report("a", 300) == []
    assert budget.report("b", 500) == []
    assert budget.report("c", 100) == [] and budget.total == 900
    assert budget.report("a", 200) == [] and budget.total == 800  # a read some
    shed = budget.report("d", 400)  # 1,200: down to 900 at most, largest first
    assert shed == ["b"] and budget.total == 700 <= 1000 * RELIEF
    assert budget.shed == 1 and len(budget) == 3
    assert budget.report("e", 2000) == ["e"]  # itself: it holds the most, and that is enough
    assert budget.total == 700


def test_a_connection_that_caught_up_or_left_holds_nothing() -> None:
    budget = SendBudget(1000)
    budget.report("a", 600)
    budget.report("a", 0)
    assert budget.total == 0 and len(budget) == 0
    budget.report("b", 700)
    budget.forget("b")
    budget.forget("b")
    assert budget.total == 0 and len(budget) == 0
    with pytest.raises(ValueError):
        SendBudget(0)


def test_the_default_is_sized_to_the_machine() -> None:
    assert 64 * 1024**2 <= machine_default() <= 2 * 1024**3


PER_CONNECTION = 256 * 1024
TOTAL = 300 * 1024
STREAM = "/ws/btcusdt@bookTicker"


async def test_consumers_that_read_nothing_are_shed_together_and_the_healthy_one_goes_on(
    start_server: StartServer,
) -> None:
    clock = ManualClock()
    plant = await start_server(
        clock=clock, source=ScriptedMarket(clock),
        limits={"send_buffer_bytes": PER_CONNECTION, "send_buffer_total_bytes": TOTAL},
    )  # fmt: skip
    listener = plant.listeners[Market.UM]
    budget, streams = listener.send_budget, listener.streams
    assert budget is not None and streams is not None
    slow = [await RawWebSocket.connect(listener.port, STREAM, rcvbuf=4096) for _ in range(3)]
    healthy = await RawWebSocket.connect(listener.port, STREAM)
    counters = listener.limit_counters
    update_id = 0
    async with asyncio.timeout(10 * SECONDS):
        while counters.memory_shed == 0:  # 16 KiB book tickers, each read by the healthy one
            update_id += 1
            payload = book_ticker("BTCUSDT", update_id, padding=16 * 1024)
            publish(plant, Market.UM, "btcusdt@bookTicker", payload)
            assert await healthy.recv(timeout=5 * SECONDS) == Frame(TEXT, payload)
            assert budget.total <= TOTAL
    assert counters.slow_consumer == 0  # none reached its own bound: the process' came first
    # the shed ones are gone at once: no close frame, their buffers dropped
    await eventually(lambda: len(streams.connections) == 4 - counters.memory_shed)
    assert budget.total <= TOTAL * RELIEF + 20 * 1024
    for _ in range(5):  # the others go on
        update_id += 1
        payload = book_ticker("BTCUSDT", update_id, padding=16 * 1024)
        publish(plant, Market.UM, "btcusdt@bookTicker", payload)
        assert await healthy.recv() == Frame(TEXT, payload)
    shed_seen = 0
    served = {connection.peer for connection in streams.connections}
    for ws in slow:  # a shed one reads what the kernel had, then the end: never a close frame
        host, port = ws.writer.get_extra_info("sockname")[:2]
        if f"{host}:{port}" not in served:
            with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
                async with asyncio.timeout(5 * SECONDS):
                    while True:
                        assert (await ws.recv()).opcode != CLOSE
            shed_seen += 1
        # else still served: it was not among the largest
        await ws.close()
    assert shed_seen == counters.memory_shed
    await eventually(lambda: len(streams.connections) == 1)
    assert budget.total == 0 or len(budget) <= 1  # only the healthy one may hold a little
    await healthy.close()
    await eventually(lambda: budget.total == 0 and len(budget) == 0)
