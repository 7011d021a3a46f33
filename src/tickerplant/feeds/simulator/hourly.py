"""How busy the live simulator is each hour: as busy as the past was.

The past (``market/history``) makes each symbol's trades an hour by the intraday and weekly
cycle, the day's volatility and the hour's mood (``SymbolTape.activity_at``: its hour's
trades a minute over its mean rate, which is the live simulator's rate for the symbol at
``--sim-rate``). The live simulator weighs each symbol's share of the flow by that figure
for the hour it is in, and the whole flow by their activity-weighted mean, so at the start
each symbol trades on at the pace of its last past hour, and the live market keeps the
cycle after. ``--sim-rate`` is the mean over the week. Without a past (a simulator built
by hand), every factor is 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tickerplant.market.units import HOUR_MS

__all__ = ["HourlyActivity"]


class HourlyActivity:
    """The current hour's factor per symbol and the action rate they make."""

    __slots__ = ("_actions_per_s", "_activities", "_hourly", "_symbols", "factors", "next_ms", "rate")

    def __init__(
        self, hourly: Callable[[str, int], float] | None, symbols: Sequence[str], activities: Sequence[float],
        actions_per_s: float,
    ) -> None:  # fmt: skip
        """``hourly(symbol, time_ms)``: how busy ``symbol``'s past is in that hour (None:
        not at all different); ``activities``: each symbol's share of the flow."""
        self._hourly = hourly
        self._symbols = list(symbols)
        self._activities = [max(0.0, a) for a in activities]
        self._actions_per_s = actions_per_s
        self.factors = [1.0] * len(self._symbols)
        self.rate = actions_per_s  # actions a second, all symbols
        self.next_ms = 0  # when the next hour starts: ``enter`` it then

    def enter(self, now_ms: int) -> bool:
        """The hour holding ``now_ms``: its factors and rate; whether they changed."""
        self.next_ms = now_ms - now_ms % HOUR_MS + HOUR_MS
        hourly = self._hourly
        if hourly is None:
            return False
        self.factors = [max(0.0, hourly(symbol, now_ms)) for symbol in self._symbols]
        weighed = sum(a * f for a, f in zip(self._activities, self.factors, strict=True))
        self.rate = self._actions_per_s * weighed / (sum(self._activities) or 1.0)
        return True
