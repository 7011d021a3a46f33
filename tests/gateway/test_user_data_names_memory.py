"""A user data name leaves nothing behind once no connection holds it. Any client may make
one up (a listen key's shape, ``<64 letters or digits>``, or with ``@<anything>`` after: part 4
§2.5, acknowledged and silent), so a table keyed by it grows without end unless its entry
goes with its last holder: the fan-out's per-stream counts (``FanOut.sent``: their counts go
to ``FanOut.retired``) and the metrics' stream kinds (none kept for such a name)."""

from __future__ import annotations

import gc
import json
import random
import string
import tracemalloc

import aiohttp
import pytest
import websockets
from conftest import StartServer
from ports import free_port

from tickerplant.admin.metrics import ServerCollector
from tickerplant.clock import ManualClock
from tickerplant.gateway.traffic import OTHER
from tickerplant.market.instruments import Market

WARM, MEASURED = 200, 400
# What is measured is the fan-out's and the metrics' tables (Python dicts and strings, traced
# alike on either loop), not how a loop moves the frames: the subscribe and unsubscribe
# replies on both loops are tests/gateway's and tests/protocol's. Once, on production's loop.
pytestmark = pytest.mark.uvloop_only


def _key(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=64))


async def test_listen_key_names_by_the_hundred_hold_no_memory(start_server: StartServer) -> None:
    still = {"actions_per_s": 1e-9}  # a market that does not move: nothing else allocates meanwhile
    clock = ManualClock()
    # as many messages a second as the test sends (10 by default, §3.4): the clock stands still,
    # where moving it 250 ms a message had the server work out 150 s of marks and candles
    plant = await start_server(
        clock=clock, simulator=still, admin_port=free_port(), limits={"max_incoming_rate": 1_000_000}
    )
    rng = random.Random(5)
    tables = [plant.listeners[market].streams.fanout.sent for market in Market]  # type: ignore[union-attr]

    async def made_up(count: int) -> None:
        """Made-up names subscribed and dropped, on one connection per market (a connection's
        head is kept in a bounded cache, not what is measured): bare keys on USDⓈ-M's user data
        route, event names with any text after the key on COIN-M's."""
        for n in range(count):
            ws, names = (um, [_key(rng)]) if n % 2 else (cm, [f"{_key(rng)}@{'x' * 500}{i}" for i in range(3)])
            for method in ("SUBSCRIBE", "UNSUBSCRIBE"):
                await ws.send(json.dumps({"method": method, "params": names, "id": 1}))
                assert json.loads(await ws.recv()) == {"result": None, "id": 1}

    async def scrape() -> None:
        async with aiohttp.ClientSession() as session, session.get(f"{plant.admin_url()}/metrics") as response:
            assert response.status == 200 and "tickerplant_messages_sent" in await response.text()

    um = await websockets.connect(f"{plant.url(Market.UM)}/private/ws")
    cm = await websockets.connect(f"{plant.url(Market.CM)}/ws")
    await made_up(WARM)
    await scrape()
    entries = [len(table) for table in tables]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await made_up(MEASURED)
        await scrape()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    await um.close()
    await cm.close()
    assert [len(table) for table in tables] == entries, "no entry left for a name nobody holds"
    # before: ~2.1 kB a name (the counts' entry, the metrics' kind, the long names); now ~0.08 kB
    # (~0.26 kB when the clock moved: what the market's 100 s left meanwhile)
    assert grown < 500 * MEASURED, f"{grown:,} bytes held after {MEASURED:,} made-up names"


def test_a_key_with_a_market_streams_name_after_it_keeps_no_metrics_kind() -> None:
    """``<key>@aggTrade`` is routed as the key's user data (an event name that is none: silent),
    though the part after the key names a market stream: it is counted as user data, and no
    kind is kept for it, however many are made up."""
    collector = ServerCollector({}, {}, lambda: None)
    rng = random.Random(9)
    names = [f"{_key(rng)}@{stream}" for stream in ("aggTrade", "depth", "kline_1m", "markPrice")]
    assert [collector._kind(name) for name in names] == [OTHER] * len(names)
    assert collector._kind("btcusdt@aggTrade") == "aggTrade" and len(collector._kinds) == 1
