# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""A venue bug met on one delivery stays in the venue: the market goes on for everyone
(``venue_engines.Contained``). Without it, an exception in the engine's feed went up through the
bus into the source, and the server stopped with "source failed"."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import msgspec
import pytest
from ports import free_port
from test_venue_clients import STILL, Venue, closing, python_binance, venue  # noqa: F401

import tickerplant.venue_engines
from tickerplant.app import Tickerplant
from tickerplant.market.derivatives.mark_streams import MarkState
from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage

BOOM = b"0.00012345"  # the funding rate whose delivery the patched watch fails on


def publish_mark(plant: Tickerplant, mark: str) -> None:
    now = plant.clock.now_ms()
    state = MarkState("BTCUSDT", now, mark, mark, mark, BOOM.decode(), BOOM.decode(), now + 3_600_000)
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@markState", msgspec.json.encode(state))])


async def test_a_venue_hook_that_raises_leaves_the_market_and_the_venue_serving(
    start_server: Any, venue: Venue, closing: list[Any], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    real_watch = tickerplant.venue_engines.watch

    def failing_watch(engine: Any, messages: Sequence[StreamMessage], now_ms: int) -> None:
        if any(BOOM in m.payload for m in messages):
            raise RuntimeError("a venue bug")
        real_watch(engine, messages, now_ms)

    monkeypatch.setattr(tickerplant.venue_engines, "watch", failing_watch)
    later_steps: list[int] = []  # the steps after the failing one still run, each delivery
    real_exchange = tickerplant.venue_engines.exchange_negative_balances

    def exchange(engine: Any, now_ms: int) -> None:
        later_steps.append(now_ms)
        real_exchange(engine, now_ms)

    monkeypatch.setattr(tickerplant.venue_engines, "exchange_negative_balances", exchange)
    plant: Tickerplant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    async with aiohttp.ClientSession() as session:
        um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
        async with session.get(f"{um}/fapi/v1/premiumIndex?symbol=BTCUSDT") as response:
            mark = (await response.json())["markPrice"]
    ran = len(later_steps)
    for _ in range(3):
        with caplog.at_level(logging.ERROR, logger="tickerplant"):
            publish_mark(plant, mark)  # raised inside: not here
    assert plant.listeners[Market.UM].user_data.activity.failures["watch"] == 3
    assert len(later_steps) >= ran + 3
    said = [r for r in caplog.records if "watch step failed" in r.getMessage()]
    assert len(said) == 1 and said[0].exc_info is not None  # once a minute, with its traceback
    assert not plant.done.is_set()
    client = python_binance(plant, closing, venue.alice_hmac)  # the venue still trades and answers
    placed = await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010")
    assert placed["status"] == "NEW"
    order = await client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert order["status"] == "FILLED"
    async with aiohttp.ClientSession() as session, session.get(f"{plant.admin_url()}/metrics") as response:
        text = await response.text()
    assert "tickerplant_venue_feed_failures_total{hook=\"watch\",market=\"um\"} 3.0" in text
