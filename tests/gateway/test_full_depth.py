"""The simulator's books at their default depth over real sockets:
`limit=1000` depth answers are full on both markets, never crossed, and a local book kept
from `@depth@100ms` and such a snapshot by Binance's procedure (spec §4.9) stays synced.

The other loopback tests run on shallow books (tests/conftest.py): this one pays for the
default 1,000 levels, once per event loop."""

from __future__ import annotations

from typing import Any

import pytest
import websockets
from conftest import StartServer
from local_book import assert_agrees, get, quiet_sync, sync

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

# the books' depth answered, not how the listener moves it:
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

FULL = {"actions_per_s": 20_000.0, "book_levels": 1000}  # the default depth, busy books
MARKETS = ((Market.UM, "BTCUSDT", "/fapi/v1"), (Market.CM, "BTCUSD_PERP", "/dapi/v1"))


def assert_full_and_uncrossed(snapshot: dict[str, Any]) -> None:
    bids = [float(p) for p, _ in snapshot["bids"]]
    asks = [float(p) for p, _ in snapshot["asks"]]
    assert len(bids) == len(asks) == 1000, "the simulated book is at least 1,000 levels deep"
    assert bids == sorted(set(bids), reverse=True) and asks == sorted(set(asks))
    assert bids[0] < asks[0], "never crossed"
    assert all(float(q) > 0 for _, q in snapshot["bids"] + snapshot["asks"])


async def test_limit_1000_is_full_and_a_local_book_stays_synced_on_both_markets(
    start_server: StartServer,
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=FULL)
    for market, symbol, prefix in MARKETS:
        path = f"{prefix}/depth?symbol={symbol}&limit=1000"
        stream = plant.url(market) + f"/ws/{symbol.lower()}@depth@100ms"
        async with websockets.connect(stream, max_queue=None) as ws:
            snapshot, local = await sync(plant, clock, ws, path, market, events=8)
            _, later = await get(plant, path, market)
            await quiet_sync(ws, clock, later)  # the quiet moment's snapshot syncs too
        assert_full_and_uncrossed(snapshot)
        assert_full_and_uncrossed(later)
        assert max(local.bids) < min(local.asks), f"{symbol}: the local book is not crossed"
        assert_agrees(local, snapshot, later)
