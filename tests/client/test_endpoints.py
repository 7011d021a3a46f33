"""Which market a stream URL serves, asked of a real tickerplant."""

from __future__ import annotations

import contextlib
import socket

import pytest
from conftest import StartServer

from tickerplant.client.endpoints import HttpRefused, fetch, market_of, rest_base
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market


def test_rest_twins() -> None:
    assert rest_base("wss://fstream.binance.com") == "https://fapi.binance.com"
    assert rest_base("wss://dstream.binance.com/stream") == "https://dapi.binance.com"
    assert rest_base("ws://127.0.0.1:8765") == "http://127.0.0.1:8765"


async def test_market_of_a_tickerplant_listener(start_server: StartServer) -> None:
    plant = await start_server()
    assert await market_of(plant.url(Market.UM)) is Market.UM
    assert await market_of(plant.url(Market.CM)) is Market.CM
    assert await market_of("wss://fstream.binance.com") is Market.UM  # by name, no network
    assert b"serverTime" in await fetch(rest_base(plant.url(Market.UM)) + "/fapi/v1/time")
    with pytest.raises(OSError):
        await fetch(rest_base(plant.url(Market.UM)) + "/fapi/v1/nothing")


async def test_a_host_that_is_not_there_is_said_to_be_unreachable() -> None:
    """Nothing listening: "cannot reach", not "which market is it?" (which an answer that is
    neither ping's earns)."""
    with socket.socket() as held:  # a port of ours, never listening: refused at once
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(OSError, match=rf"cannot reach http://127.0.0.1:{port}, ws://127.0.0.1:{port}'s REST twin"):
            await market_of(f"ws://127.0.0.1:{port}")


async def test_a_host_that_refuses_for_the_ips_weight_says_so(start_server: StartServer) -> None:
    """A ping refused 429 (the IP's weight spent): said, not "which market is it?"."""
    # on a clock that stands still: a real minute turning before the third ping let it through
    plant = await start_server(request_weight_per_min=2, simulator={"actions_per_s": 1e-9}, clock=ManualClock())
    base = rest_base(plant.url(Market.UM))
    for _ in range(2):
        await fetch(base + "/fapi/v1/ping")
    with pytest.raises(OSError, match="refused the ping with 429: this IP's request weight is spent"):
        await market_of(plant.url(Market.UM))


async def test_a_refusal_says_its_status_and_retry_after(start_server: StartServer) -> None:
    """A GET answered 429 raises ``HttpRefused`` with the status and ``Retry-After``'s seconds
    (spec §7.1), read off the wire; a 404 has none."""
    # on a clock that stands still: a real minute turning before the third ping let it through
    plant = await start_server(request_weight_per_min=2, simulator={"actions_per_s": 1e-9}, clock=ManualClock())
    base = rest_base(plant.url(Market.UM))
    with pytest.raises(HttpRefused) as missing:
        await fetch(base + "/fapi/v1/nothing")
    assert missing.value.status == 404 and missing.value.retry_after_s is None
    for _ in range(2):
        with contextlib.suppress(HttpRefused):
            await fetch(base + "/fapi/v1/ping")
    with pytest.raises(HttpRefused) as limited:
        await fetch(base + "/fapi/v1/ping")
    assert limited.value.status == 429
    assert limited.value.retry_after_s is not None and 0 < limited.value.retry_after_s <= 60
