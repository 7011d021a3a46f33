"""Mark-, index- and premium-index klines over real sockets on a manual clock (spec §7.8):
each row is the OHLC and sample count of the mark states the plant published in its
interval, on both markets, with klines' weights and errors."""

from __future__ import annotations

import pytest
from conftest import StartServer
from price_samples import QUIET, expected, premium, record, run_for
from test_mark_price_loopback import get

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import open_time

# the price klines answered, not how the listener moves them:
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only


async def test_usds_m_price_klines_are_the_published_mark_states(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=QUIET)
    states = record(plant, Market.UM, "BTCUSDT")
    await run_for(plant, Market.UM, clock, 2 * 60 + 5, "BTCUSDT")
    first = open_time("1m", states[0].t) + 60_000  # the first minute recorded whole
    query = f"interval=1m&startTime={first}"
    status, headers, mark = await get(plant, Market.UM, f"/fapi/v1/markPriceKlines?symbol=BTCUSDT&{query}")
    assert (status, headers["X-MBX-USED-WEIGHT-1M"]) == (200, "5")  # limit 500 by default
    assert mark == expected(states, "1m", lambda s: s.p, first)
    assert [row[8] for row in mark[:-1]] == [60] * (len(mark) - 1)  # a sample a second
    _, _, index = await get(plant, Market.UM, f"/fapi/v1/indexPriceKlines?pair=BTCUSDT&{query}")
    assert index == expected(states, "1m", lambda s: s.i, first)
    _, _, prem = await get(plant, Market.UM, f"/fapi/v1/premiumIndexKlines?symbol=BTCUSDT&{query}")
    assert prem == expected(states, "1m", premium, first)
    _, headers, three = await get(
        plant, Market.UM, "/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=3m&limit=1"
    )
    assert headers["X-MBX-USED-WEIGHT-1M"] == "16"  # three of 5 (limit 500), then 1 (limit 1)
    assert three[0][0] == open_time("3m", clock.now_ms()) and three[0][4] == states[-1].p
    _, _, last = await get(
        plant, Market.UM, f"/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1m&endTime={first}&limit=2"
    )
    assert [row[0] for row in last] == [first - 60_000, first]

    refused = {
        "/fapi/v1/markPriceKlines?interval=1m": (400, -1102),
        "/fapi/v1/markPriceKlines?symbol=NOPEUSDT&interval=1m": (400, -1121),
        "/fapi/v1/markPriceKlines?symbol=BTCUSDT": (400, -1102),
        "/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=2m": (400, -1120),
        "/fapi/v1/premiumIndexKlines?symbol=BTCUSDT&interval=1m&limit=1501": (400, -1130),
        "/fapi/v1/premiumIndexKlines?symbol=BTCUSDT&interval=1m&limit=0": (400, -1130),
        "/fapi/v1/indexPriceKlines?symbol=BTCUSDT&interval=1m": (400, -1102),
        "/fapi/v1/indexPriceKlines?pair=NOPEUSDT&interval=1m": (400, -1121),
        "/fapi/v1/indexPriceKlines?pair=BTCUSDT&interval=1m&startTime=2&endTime=1": (400, -1023),
    }
    for path, (want_status, code) in refused.items():
        status, _, error = await get(plant, Market.UM, path)
        assert (status, error["code"]) == (want_status, code), path


async def test_coin_m_price_klines_index_by_pair(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=QUIET)
    states = record(plant, Market.CM, "BTCUSD_PERP")
    await run_for(plant, Market.CM, clock, 2 * 60 + 5, "BTCUSD_PERP")
    first = open_time("1m", states[0].t) + 60_000
    query = f"interval=1m&startTime={first}"
    _, _, mark = await get(plant, Market.CM, f"/dapi/v1/markPriceKlines?symbol=BTCUSD_PERP&{query}")
    assert mark == expected(states, "1m", lambda s: s.p, first)
    _, _, index = await get(plant, Market.CM, f"/dapi/v1/indexPriceKlines?pair=BTCUSD&{query}")
    assert index == expected(states, "1m", lambda s: s.i, first)
    _, _, prem = await get(plant, Market.CM, f"/dapi/v1/premiumIndexKlines?symbol=BTCUSD_PERP&{query}")
    assert prem == expected(states, "1m", premium, first)
