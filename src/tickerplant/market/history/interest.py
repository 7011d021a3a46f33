"""The simulated past's open interest, for `futures/data/openInterestHist` (spec §7.9): the
last 30 days Binance serves, made on demand and joined to the live figure.

**Level.** Each symbol's open interest wanders around ``_OI_ORDERS`` of its mean trade
sizes (``SymbolTape.mean_trade_qty``), as the live simulator's positions do around theirs
(``feeds/simulator/positions.py``: 100,000 mean orders): about 7 hours of its trades.

**Path.** ``level · exp(Y(t))`` at every 5-minute boundary, with ``Y`` the sum of three
keyed normals linear between knots (``draws.knotted``): a slow part (±25 % over knots
three days apart), a middle one (±8 %, six hours) and a fast one (±2 %, half an hour). It
is a pure function of the seed, the symbol and the time, as the prices are.

**Joined.** The live market's first figure (the simulator's positions at the start) is
not on that path, so the last day before the live start bends to it: the log of the
ratio between the live figure and the path at the start is added in full at the start and
linearly less to nothing a day before (``_JOIN_MS``). Beyond a day before the start, the
history is the same from any server of the seed; the last day depends on the start.

**Value.** Each point's value is its quantity at the symbol's past price at that moment:
the path's hour, its open to its close in proportion (the hours are cheap to draw; the
minutes are not drawn for it), as `openInterestHist`'s ``sumOpenInterestValue``.
"""

from __future__ import annotations

import math

from tickerplant.market.history.draws import knotted, name_key
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

__all__ = ["PERIOD_MS", "PastInterest"]

PERIOD_MS = 5 * MINUTE_MS  # the grid of the points
_OI_ORDERS = 100_000.0  # the level, in mean trade sizes
_PARTS = ((1, 3 * DAY_MS, 0.25), (2, 6 * HOUR_MS, 0.08), (3, 30 * MINUTE_MS, 0.02))  # part, knot, sd
_JOIN_MS = DAY_MS


class PastInterest:
    """The open interest of ``past``'s symbols before the live start (see the docstring)."""

    def __init__(self, past: SimulatedPast, live_from_ms: int) -> None:
        self.past = past
        self.live_from_ms = live_from_ms
        self._keys: dict[str, int] = {}

    def points(
        self, symbol: str, period_ms: int, first_ms: int, last_ms: int, joined: int | None
    ) -> list[tuple[int, int, int]]:
        """(time, quantity units, price units) at each multiple of ``period_ms`` (of 5
        minutes) in [first, last] before the live start and after the listing, ascending;
        ``joined``: the live market's first quantity, which the last day bends to (None:
        not bent)."""
        tape = self.past.tape(symbol)
        inst = tape.inst
        start = max(first_ms, tape.first_minute * MINUTE_MS)
        start += -start % period_ms
        end = min(last_ms, self.live_from_ms - 1)
        if end < start:
            return []
        times = range(start, end + 1, period_ms)
        logs = self._logs(symbol, times)
        level = max(1.0, _OI_ORDERS * tape.mean_trade_qty())
        bend = 0.0
        if joined is not None and joined > 0:
            at_start = self._logs(symbol, range(self.live_from_ms, self.live_from_ms + 1))[0]
            bend = math.log(joined / level) - at_start
        step = inst.step
        out = []
        path = tape.path
        for t, y in zip(times, logs, strict=True):
            weight = max(0.0, 1.0 - (self.live_from_ms - t) / _JOIN_MS)
            qty = max(step, round(level * math.exp(y + bend * weight) / step) * step)
            hour = t // HOUR_MS
            bar = path.hours(hour // 24)[hour % 24]
            log_price = bar.open + (bar.close - bar.open) * (t - hour * HOUR_MS) / HOUR_MS
            out.append((t, qty, tape.price(log_price, t)))
        return out

    def _logs(self, symbol: str, times: range) -> list[float]:
        key = self._keys.get(symbol)
        if key is None:
            key = self._keys[symbol] = name_key(self.past.seed, "open-interest", symbol)
        total = [0.0] * len(times)
        for part, knot_ms, sd in _PARTS:
            for i, z in enumerate(knotted(key, part, times, knot_ms)):
                total[i] += sd * z
        return total
