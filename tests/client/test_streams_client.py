"""tickerplant.client.MarketStreams against a real tickerplant, with faults injected
through the server's own configuration."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from collecting import collect
from conftest import StartServer

from tickerplant.client.events import BookTicker, MiniTicker, Trade
from tickerplant.client.sequencing import Gap
from tickerplant.client.streams import MarketStreams
from tickerplant.market.instruments import Market


def trade_ids(items: list[Any], symbol: str) -> list[int]:
    return [i.trade_id for i in items if isinstance(i, Trade) and i.symbol == symbol]


async def test_typed_events_subscribe_and_unsubscribe(start_server: StartServer) -> None:
    plant = await start_server()
    async with MarketStreams(plant.url(Market.UM)) as streams:
        await streams.subscribe("btcusdt@bookTicker", "btcusdt@trade", "!miniTicker@arr")
        items = await collect(streams, 1.5)
        books = [i for i in items if isinstance(i, BookTicker)]
        assert books and all(b.symbol == "BTCUSDT" and isinstance(b.bid_price, Decimal) for b in books)
        assert all(b.bid_price < b.ask_price for b in books)
        assert trade_ids(items, "BTCUSDT")
        minis = {i.symbol for i in items if isinstance(i, MiniTicker)}
        assert len(minis) > 10
        assert not [i for i in items if isinstance(i, Gap)]
        await streams.unsubscribe("btcusdt@trade", "!miniTicker@arr")
        await collect(streams, 0.2)  # what was already on the wire
        later = await collect(streams, 1.0)
        assert later and all(isinstance(i, BookTicker) for i in later)


async def test_rollover_before_the_age_limit_loses_and_repeats_nothing(start_server: StartServer) -> None:
    plant = await start_server(limits={"max_connection_age_s": 1.5})
    async with MarketStreams(plant.url(Market.UM), rollover_after_s=0.6) as streams:
        await streams.subscribe("btcusdt@trade", "ethusdt@trade", "btcusdt@bookTicker")
        items = await collect(streams, 4.0)
        assert streams.rollovers >= 4 and streams.reconnects == 0
    assert not [i for i in items if isinstance(i, Gap)]
    for symbol in ("BTCUSDT", "ETHUSDT"):
        ids = trade_ids(items, symbol)
        assert len(ids) > 20
        assert ids == list(range(ids[0], ids[0] + len(ids))), "every trade exactly once, in order"
    updates = [i.update_id for i in items if isinstance(i, BookTicker)]
    assert updates == sorted(set(updates))


async def test_a_dropped_connection_is_reopened_and_what_was_missed_is_a_gap(start_server: StartServer) -> None:
    plant = await start_server(faults={"drop_after_s": 0.7})
    async with MarketStreams(plant.url(Market.UM), delays=lambda: iter([0.1] * 1000)) as streams:
        await streams.subscribe("btcusdt@trade", "btcusdt@bookTicker")
        items = await collect(streams, 3.0)
        assert streams.reconnects >= 2
    ids = trade_ids(items, "BTCUSDT")
    assert len(ids) == len(set(ids)), "no trade twice"
    gaps = [g for g in items if isinstance(g, Gap)]
    covered = set(ids)
    for gap in gaps:
        if gap.first_missing is not None and gap.last_missing is not None:
            covered |= set(range(gap.first_missing, gap.last_missing + 1))
    assert covered == set(range(min(ids), max(ids) + 1)), "every trade id delivered or reported missing"
    assert any(g.kind == "bookTicker" for g in gaps), "a reconnect is reported for streams without sequence ids"


async def test_a_silent_server_is_detected_by_ping(start_server: StartServer) -> None:
    plant = await start_server(faults={"stall_after_s": 0.6})
    streams = MarketStreams(
        plant.url(Market.CM), ping_interval_s=0.2, pong_timeout_s=0.2, delays=lambda: iter([0.05] * 1000)
    )
    async with streams:
        await streams.subscribe("btcusd_perp@bookTicker")
        items = await collect(streams, 2.5)
        assert streams.reconnects >= 1
    assert any(isinstance(i, Gap) for i in items)
    assert any(isinstance(i, BookTicker) for i in items[len(items) // 2 :]), "delivery resumed"


async def test_more_streams_than_a_connection_may_carry(start_server: StartServer) -> None:
    plant = await start_server(limits={"max_streams": 3})
    symbols = [i.symbol for i in plant.instruments[Market.UM][:8]]
    async with MarketStreams(plant.url(Market.UM), max_streams_per_connection=3) as streams:
        await streams.subscribe(*(f"{s.lower()}@miniTicker" for s in symbols))
        assert streams.connections == 3
        items = await collect(streams, 2.5)
        assert streams.reconnects == 0
    assert {i.symbol for i in items if isinstance(i, MiniTicker)} == set(symbols)


async def test_control_messages_are_paced_under_the_servers_rate(start_server: StartServer) -> None:
    plant = await start_server()  # the server closes a connection over 10 messages a second
    names = [f"{i.symbol.lower()}@bookTicker" for i in plant.instruments[Market.UM][:16]]
    # 16 SUBSCRIBEs at once would break 10/s. The default pace, 5 in any second, keeps any
    # two neighbouring seconds at 10 however the network bunches them up.
    async with MarketStreams(plant.url(Market.UM)) as streams:
        await streams.subscribe(names[0])
        await asyncio.gather(*(streams.subscribe(name) for name in names[1:]))
        items = await collect(streams, 0.5)
        assert streams.reconnects == 0 and items


async def test_a_consumer_that_falls_behind_stops_reading(start_server: StartServer) -> None:
    plant = await start_server(simulator={"actions_per_s": 30000.0}, limits={"send_buffer_bytes": 256 * 1024})
    streams = MarketStreams(plant.url(Market.CM), pause_at=2000, resume_at=500, delays=lambda: iter([0.05] * 1000))
    async with streams:
        await streams.subscribe("!bookTicker")
        await asyncio.sleep(1.5)  # nobody reads: past pause_at the connection stops reading
        held = len(streams._buffer)
        # What one socket read had already brought in may land after the pause; no more.
        assert streams._paused and held > 2000
        await asyncio.sleep(0.5)
        assert len(streams._buffer) == held, "memory stays bounded: nothing is read while paused"
        await streams.subscribe("btcusd_perp@trade")  # control still works while behind
        items = await collect(streams, 1.0)
    assert any(isinstance(i, BookTicker) for i in items)
    assert any(isinstance(i, Trade) and i.symbol == "BTCUSD_PERP" for i in items)


async def test_prices_as_the_original_strings(start_server: StartServer) -> None:
    plant = await start_server()
    async with MarketStreams(plant.url(Market.UM), numbers=str) as streams:
        await streams.subscribe("btcusdt@bookTicker")
        item = await asyncio.wait_for(streams.__anext__(), 5)
    assert isinstance(item, BookTicker) and isinstance(item.bid_price, str) and item.bid_price.count(".") == 1
