"""Request weight across gateways: a client spreading its requests over two gateways meets
429 at the same total as on one (Binance counts per IP across its servers, §7.1); each
gateway counts only its own refusals; a gateway started later (a restarted one) bans whom
the others ban and goes on with their minute."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from typing import Any

import pytest
from nats_servers import nats_url
from scaleout_setup import start_split, started
from timing import SECONDS, eventually

from tickerplant.bus.nats import NatsBus
from tickerplant.clock import ManualClock
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.market.instruments import Market
from tickerplant.scaleout.gateway_process import GatewayProcess

pytestmark = pytest.mark.loopback
__all__ = ["nats_url", "started"]  # the fixtures: a real nats-server, what the test started

CONFIG = ServerConfig(
    um_port=0, cm_port=0, admin_port=0, request_weight_per_min=20,
    simulator=SimulatorConfig(history_s=60.0, book_levels=20),
)  # fmt: skip


def _time(url: str) -> tuple[int, str]:
    """GET /fapi/v1/time (weight 1): the status and the IP's used weight."""
    try:
        with urllib.request.urlopen(
            url.replace("ws://", "http://") + "/fapi/v1/time", timeout=5 * SECONDS
        ) as r:
            return r.status, r.headers["X-MBX-USED-WEIGHT-1M"]
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["X-MBX-USED-WEIGHT-1M"]


async def test_a_client_on_two_gateways_meets_429_at_the_same_total(
    nats_url: str, started: list[Any]
) -> None:
    clock = ManualClock()
    _, gateways = await start_split(CONFIG, nats_url, clock, started, gateways=2)
    one, other = (gateway.url(Market.UM) for gateway in gateways)
    for used in range(1, 13):
        assert await asyncio.to_thread(_time, one) == (200, str(used))
    now = clock.now_ms()
    shared = gateways[1].listeners[Market.UM].weight
    await eventually(lambda: shared.used("127.0.0.1", now) == 12, 5 * SECONDS)
    for used in range(13, 21):
        assert await asyncio.to_thread(_time, other) == (200, str(used))
    assert await asyncio.to_thread(_time, other) == (429, "21")
    await eventually(
        lambda: gateways[0].listeners[Market.UM].weight.used("127.0.0.1", now) == 21, 5 * SECONDS
    )
    assert await asyncio.to_thread(_time, one) == (429, "22")
    counted = [gateway.listeners[Market.UM].limit_counters.weight_refused for gateway in gateways]
    assert counted == [1, 1]  # each its own refusal, not the other's too
    # COIN-M's weight is its own (dapi's limit is not fapi's)
    assert gateways[1].listeners[Market.CM].weight.used("127.0.0.1", now) == 0


async def test_a_gateway_started_later_bans_whom_the_others_ban(nats_url: str, started: list[Any]) -> None:
    clock = ManualClock()
    _, (early,) = await start_split(CONFIG, nats_url, clock, started)
    url = early.url(Market.UM)
    statuses = [(await asyncio.to_thread(_time, url))[0] for _ in range(25)]
    assert statuses[19:] == [200, 429, 429, 429, 418, 418]  # 20 of weight, three 429s, then banned
    # a gateway restarted meanwhile: a process of its own, its table empty until it asks
    late = GatewayProcess(CONFIG, await NatsBus.connect(nats_url, name="late gateway"), clock)
    started.append(late)
    async with asyncio.timeout(10 * SECONDS):
        await late.start()
    assert await asyncio.to_thread(_time, late.url(Market.UM)) == (418, "24")
    assert late.listeners[Market.UM].weight.used("127.0.0.1", clock.now_ms()) == 24
