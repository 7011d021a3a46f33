# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""A venue bug met on one delivery stays in the venue: the market goes on for everyone
(``venue_engines.Contained``). Without it, an exception in the engine's feed went up through the
bus into the source, and the server stopped with "source failed"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import msgspec
import pytest
from ports import free_port
from rawws import TEXT
from test_venue_clients import STILL, Venue, closing, python_binance, user_stream, venue  # noqa: F401

import tickerplant.gateway.user_data
import tickerplant.venue.core.engine
import tickerplant.venue.userstream.user_events
import tickerplant.venue_engines
from tickerplant.app import Tickerplant
from tickerplant.market.derivatives.mark_streams import MarkState
from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.domain.commands import AlgoTriggers

BOOM = b"0.00012345"  # the funding rate whose delivery the patched watch fails on


def publish_mark(plant: Tickerplant, mark: str) -> None:
    now = plant.clock.now_ms()
    state = MarkState("BTCUSDT", now, mark, mark, mark, BOOM.decode(), BOOM.decode(), now + 3_600_000)
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@markState", msgspec.json.encode(state))])


async def test_a_venue_hook_that_raises_leaves_the_market_and_the_venue_serving(
    start_server: Any, venue: Venue, closing: list[Any], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    real_watch = tickerplant.venue.core.engine.watch  # the Marks command's step

    def failing_watch(engine: Any, messages: Sequence[StreamMessage], now_ms: int, batch: Any) -> None:
        if any(BOOM in m.payload for m in messages):
            raise RuntimeError("a venue bug")
        real_watch(engine, messages, now_ms, batch)

    monkeypatch.setattr(tickerplant.venue.core.engine, "watch", failing_watch)
    later_steps: list[int] = []  # the steps after the failing one still run, each delivery
    steps = tickerplant.venue.core.engine._STEPS
    real_triggers = steps[AlgoTriggers]  # the algo orders' step: a mark's delivery is priced

    def triggers(engine: Any, command: AlgoTriggers, now_ms: int, batch: Any) -> None:
        later_steps.append(now_ms)
        real_triggers(engine, command, now_ms, batch)

    monkeypatch.setitem(steps, AlgoTriggers, triggers)
    plant: Tickerplant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    async with aiohttp.ClientSession() as session:
        um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
        async with session.get(f"{um}/fapi/v1/premiumIndex?symbol=BTCUSDT") as response:
            mark = (await response.json())["markPrice"]
    client = await python_binance(plant, closing, venue.alice_hmac)
    # an algo order waits on the mark: the trigger pass runs at each mark's delivery, after the watch
    waits = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="STOP_MARKET", quantity="0.010", workingType="MARK_PRICE",
        stopPrice=str(int(float(mark) * 1.5)),
    )  # fmt: skip
    assert waits["algoStatus"] == "NEW"
    ran = len(later_steps)
    for _ in range(3):
        with caplog.at_level(logging.ERROR, logger="tickerplant"):
            publish_mark(plant, mark)  # raised inside: not here
    assert plant.listeners[Market.UM].user_data.activity.failures["watch"] == 3
    assert len(later_steps) >= ran + 3
    said = [r for r in caplog.records if "watch step failed" in r.getMessage()]
    assert len(said) == 1 and said[0].exc_info is not None  # once a minute, with its traceback
    assert not plant.done.is_set()
    # the venue still trades and answers
    placed = await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010")
    assert placed["status"] == "NEW"
    order = await client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert order["status"] == "FILLED"
    async with aiohttp.ClientSession() as session, session.get(f"{plant.admin_url()}/metrics") as response:
        text = await response.text()
    assert "tickerplant_venue_feed_failures_total{hook=\"watch\",market=\"um\"} 3.0" in text


async def test_an_account_whose_events_cannot_be_written_costs_no_other_its_events(
    start_server: Any, venue: Venue, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two accounts' orders in one loop turn (written on two connections at once) share a journal
    commit and its user data drain; alice's payloads raising (a venue bug met by her state)
    loses her events of the drain, logged, and bob still gets his; both orders are answered."""
    real_order_update = tickerplant.venue.userstream.user_events._order_update
    drains: list[set[int]] = []  # the accounts each drain wrote for: both in one, or the test proves nothing
    real_written = tickerplant.gateway.user_data.written
    real_drain = tickerplant.gateway.user_data.UserData.drain

    def drain(self: Any, engine: Any, accounts: Any, now_ms: int) -> int:
        drains.append(set())
        return real_drain(self, engine, accounts, now_ms)

    def order_update(engine: Any, event: Any, alias: str) -> bytes:
        if event.account_id == venue.alice:
            raise RuntimeError("alice's payload")
        return bytes(real_order_update(engine, event, alias))

    def written(engine: Any, events: Any, alias_of: Any, failed: Any = None) -> Any:  # a command's
        drains[-1].update(e.account_id for e in events)
        return real_written(engine, events, alias_of, failed)

    monkeypatch.setattr(tickerplant.venue.userstream.user_events, "_order_update", order_update)
    monkeypatch.setattr(tickerplant.gateway.user_data, "written", written)
    monkeypatch.setattr(tickerplant.gateway.user_data.UserData, "drain", drain)
    plant: Tickerplant = await start_server(simulator=STILL, venue_db=str(venue.path))
    alice_stream, bob_stream = await user_stream(plant, venue.alice_hmac), await user_stream(plant, venue.bob_hmac)
    port = plant.listeners[Market.UM].port

    def request(key: Any, n: int) -> bytes:
        query = (f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.002&price=30000"
                 f"&newClientOrderId=c{n}&timestamp={plant.clock.now_ms()}")  # fmt: skip
        query = f"{query}&signature={hmac_hex(key.secret, query.encode())}"
        return (f"POST /fapi/v1/order?{query} HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: {key.api_key}\r\n"
                f"Content-Length: 0\r\n\r\n").encode()  # fmt: skip

    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    with caplog.at_level(logging.ERROR, logger="tickerplant"):
        for attempt in range(5):  # a busy machine may split the two into two turns: sent again
            pair = zip(connections, (venue.alice_hmac, venue.bob_hmac), (1, 2), strict=True)
            for (_, writer), key, n in pair:
                writer.write(request(key, 2 * attempt + n))  # both before the loop polls: one turn, one commit
            for reader, _ in connections:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]))
                assert head.startswith(b"HTTP/1.1 200 ") and b'"status":"NEW"' in body, body
            if {venue.alice, venue.bob} in drains:
                break
        event = msgspec.json.decode((await bob_stream.recv_until(TEXT)).payload)
    assert (event["e"], event["o"]["c"], event["o"]["X"]) == ("ORDER_TRADE_UPDATE", "c2", "NEW")
    assert {venue.alice, venue.bob} in drains
    assert any("alice's payload" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    for _, writer in connections:
        writer.close()
    await alice_stream.close()
    await bob_stream.close()
