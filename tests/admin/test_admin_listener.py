"""The admin listener over a real socket: its pages, status, metrics and replay controls."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market

pytestmark = pytest.mark.loopback

StartServer = Callable[..., Awaitable[Tickerplant]]


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def _post(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(url, json={}) as response:
        return response.status, json.loads(await response.text())


async def test_status_names_the_listeners_and_the_source(start_server: StartServer) -> None:
    server = await start_server(admin_port=free_port())
    admin = server.admin_url()
    assert admin is not None
    status, content_type, body = await _get(f"{admin}/api/status")
    assert status == 200 and content_type == "application/json"
    answer = json.loads(body)
    assert answer["source"] == "simulator"
    assert answer["replay"] is None
    um = answer["listeners"]["um"]
    assert um["port"] == server.listeners[Market.UM].port
    assert um["rest"] == f"http://127.0.0.1:{um['port']}"
    assert "BTCUSDT" in um["symbols"]
    assert "BTCUSD_PERP" in answer["listeners"]["cm"]["symbols"]


async def test_the_dashboard_and_metrics_are_served(start_server: StartServer) -> None:
    server = await start_server(admin_port=free_port())
    admin = server.admin_url()
    status, content_type, body = await _get(f"{admin}/")
    assert status == 200 and content_type.startswith("text/html") and "tickerplant" in body
    status, content_type, body = await _get(f"{admin}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    list(text_string_to_metric_families(body))  # parses


async def test_replay_controls_are_refused_without_a_replay(start_server: StartServer) -> None:
    server = await start_server(admin_port=free_port())
    status, answer = await _post(f"{server.admin_url()}/api/replay/pause")
    assert status == 409 and answer == {"code": -1, "msg": "not replaying"}


async def test_port_zero_turns_the_admin_listener_off(start_server: StartServer) -> None:
    server = await start_server()
    assert server.admin is None and server.admin_url() is None
