"""Recording the mark states a plant publishes and driving its manual clock a second at a
time, for the price-kline tests (REST loopback and real clients)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import msgspec
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.market.derivatives.mark_streams import MarkState
from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import close_time, open_time

_state = msgspec.json.Decoder(MarkState)
# few simulator steps a second: the clock moves a second at a time, minutes of it
QUIET = {"actions_per_s": 40.0, "history_s": 600.0}


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
    """The premium index a state carries (the source's impact premium), else (p − i) / i."""
    if s.pi:
        return s.pi
    p, i = Decimal(s.p), Decimal(s.i)
    value = ((p - i) / i).quantize(Decimal("1e-8"), rounding=ROUND_HALF_UP)
    return f"{value:.8f}" if value else "0.00000000"


async def caught_up(plant: Tickerplant, market: Market, symbol: str, t_ms: int) -> None:
    """Wait until ``market``'s view holds a mark state of ``symbol`` from ``t_ms`` on."""
    marks = plant.listeners[market].view.marks
    async with asyncio.timeout(5 * SECONDS):
        while (state := marks.mark(symbol)) is None or state.t < t_ms:
            await asyncio.sleep(0)
