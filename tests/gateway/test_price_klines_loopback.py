"""Mark-, index- and premium-index klines over real sockets on a manual clock (spec §7.8):
each row is the OHLC and sample count of the mark states the plant published in its
interval, on both markets, with klines' weights and errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import msgspec
from conftest import StartServer
from test_mark_price_loopback import get
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.klines import close_time, open_time
from tickerplant.market.mark_streams import MarkState

_state = msgspec.json.Decoder(MarkState)
# few simulator steps a second: the clock moves a second at a time, minutes of it
_QUIET = {"actions_per_s": 40.0, "history_s": 600.0}


def record(plant: Tickerplant, market: Market, symbol: str) -> list[MarkState]:
    """Every `<symbol>@markState` the plant publishes from now on."""
    seen: list[MarkState] = []
    name = f"{symbol.lower()}@markState"
    plant.bus.subscribe(
        market,
        lambda messages: seen.extend(
            _state.decode(m.payload) for m in messages if isinstance(m, StreamMessage) and m.stream == name
        ),
    )
    return seen


async def run_for(plant: Tickerplant, market: Market, clock: ManualClock, seconds: int, symbol: str) -> None:
    """Advance ``seconds`` a second at a time, each time until the view holds a newer mark
    state of ``symbol`` (so every second is sampled, as on a live clock)."""
    marks = plant.listeners[market].view.marks
    for _ in range(seconds):
        before = marks.mark(symbol)
        clock.advance(1000)
        async with asyncio.timeout(5 * SECONDS):
            while (state := marks.mark(symbol)) is None or (before is not None and state.t <= before.t):
                await asyncio.sleep(0)


def expected(
    states: list[MarkState], interval: str, price: Callable[[MarkState], str], start: int
) -> list[list[object]]:
    """The rows of the intervals from ``start``, computed straight from the states."""
    grouped: dict[int, list[str]] = {}
    for s in states:
        grouped.setdefault(open_time(interval, s.t), []).append(price(s))
    return [
        [
            t,
            v[0],
            max(v, key=Decimal),
            min(v, key=Decimal),
            v[-1],
            "0",
            close_time(interval, t),
            "0",
            len(v),
            "0",
            "0",
            "0",
        ]
        for t, v in sorted(grouped.items())
        if t >= start
    ]


def premium(s: MarkState) -> str:
    p, i = Decimal(s.p), Decimal(s.i)
    value = ((p - i) / i).quantize(Decimal("1e-8"), rounding=ROUND_HALF_UP)
    return f"{value:.8f}" if value else "0.00000000"


async def test_usds_m_price_klines_are_the_published_mark_states(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=_QUIET)
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
    plant = await start_server(clock=clock, simulator=_QUIET)
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
