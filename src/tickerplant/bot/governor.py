"""How far the bot's clock is from the market's, and what the run does about it (sans-I/O:
the times come in as arguments; ``run`` asks ``decide`` a few times a wall second).

Each signed request carries the bot's clock when it signed (``timestamp``, part 1 §5.1);
the server reads it against the market's clock when the request arrives. The **lag** is
``market − timestamp``: positive when the bot's clock is behind the market. It is

- the bot clock's **offset**: libfaketime starts a process' clock when the process starts,
  a few milliseconds after the market's began, and those milliseconds count ×speed; then
- the request's **way** (signing, sending, reading), ×speed too.

The rules, in order:

1. Nothing is decided on fewer than ``window`` requests since the last hold; a request
   that arrives while the market is held is not counted (the market stands still under it).
2. **Hold**: when every one of the last ``window`` lags is above ``hold_above_ms`` (but
   those of requests stamped more than ``max_lag_ms`` ahead, which the checks refuse
   ``-1021``, while the others are most of the window), the bot's clock is behind the
   market by at least the smallest of them, whatever the way took: the market is held for
   that long (market time; at ×speed that is ``lag / speed`` of wall time) and goes on from
   where it stood, so no event is skipped and no later request is ahead of the market.
   Holds add up in ``held_ms``.
3. **Stop**: when the lags' median is still above ``max_lag_ms`` (the way itself takes too
   long at this speed; a hold cannot shorten it), the run stops and says a speed at which
   the median would be half the bound: the way's share of the lag scales with the speed.
   When the median is below ``-max_lag_ms`` (the bot's clock ahead of the market, which the
   run never skips to catch up: a market paused by hand, an offset the bot adds), it stops
   and says so. One request stamped ahead (a bot trying ``-1021``, which the server answers
   as Binance would) is not the bot's clock: the median is.
   A hold is the governor's doing, not the bot's: the smallest lag it holds for is the clock's
   offset plus that request's way, so requests that come faster after it (a first window
   slowed by connecting) read ahead by up to the hold. Ahead by no more than the last hold
   (and the bound), the clock is not the cause: the stop says the hold overshot and names a
   speed at which the ways' differences would be half the bound, as they scale with it.
4. A market whose speed was changed on the admin listener (``POST /api/replay/speed``) runs
   apart from the bot's clock, which keeps the speed it started at (libfaketime's rate is
   set when the bot starts): a faster market is held as rule 2 says, again and again (in
   effect it plays at the bot's speed), and a stop, when one comes (a median past the bound,
   either way), names that change as the cause, not the way, and suggests no speed.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median
from typing import NamedTuple

from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.checks import parameters

__all__ = ["LagGovernor", "LagSummary", "Verdict", "suggested_speed"]


class Verdict(NamedTuple):
    """What to do now: hold the market ``hold_ms`` (market ms) from now; ``stop`` says why
    the run ends."""

    hold_ms: int = 0
    stop: str | None = None


_GO = Verdict()


class LagSummary(NamedTuple):
    """Every lag measured in a run (market ms), and the holds."""

    requests: int
    min_ms: int | None
    max_ms: int | None
    last_median_ms: float | None  # of the last ``window`` since the last hold; None: fewer
    held_ms: int
    holds: int
    since_hold: int = 0  # the requests counted since the last hold (at most ``window``)
    window: int = 5
    max_lag_ms: int = 1000


class LagGovernor:
    """The lag rules above, for a market played at ``speed``; a ``clock.LagProbe``."""

    def __init__(
        self, speed: float, max_lag_ms: int = 1000, *, window: int = 5, hold_above_ms: int | None = None
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"a bot's clock follows a market at a set speed, not {speed!r}")
        if max_lag_ms <= 0 or window < 1:
            raise ValueError("max_lag_ms and window must be positive")
        self.speed = speed
        self.max_lag_ms = max_lag_ms
        self.hold_above_ms = max_lag_ms // 4 if hold_above_ms is None else hold_above_ms
        self._lags: deque[int] = deque(maxlen=window)
        self._holding_until_ms: float | None = None  # wall ms
        self._stop: str | None = None
        self.requests = 0
        self._min: int | None = None
        self._max: int | None = None
        self._last_hold_ms = 0  # how far the last hold may have put the market behind the bot
        self.held_ms = 0
        self.holds = 0

    def signed(self, query: bytes, body: bytes, now_ms: int) -> None:
        """A signed request as received at the market's ``now_ms``: its ``timestamp``
        (part 1 §5.1) weighed; one without a readable timestamp tells nothing (the checks
        refuse it)."""
        try:
            stamp = parameters(query, body).get("timestamp", "")
        except RequestRefused:
            return
        if stamp.isascii() and stamp.isdigit() and len(stamp) <= 18:
            self.lag(int(stamp), now_ms)

    def lag(self, timestamp_ms: int, now_ms: int) -> None:
        """A bot's clock read ``timestamp_ms`` when the market's read ``now_ms``."""
        lag = now_ms - timestamp_ms
        self.requests += 1
        self._min = lag if self._min is None else min(self._min, lag)
        self._max = lag if self._max is None else max(self._max, lag)
        if self._holding_until_ms is None:
            self._lags.append(lag)

    def decide(self, wall_ms: float, market_speed: float | None = None) -> Verdict:
        """Whether the market is to be held from ``wall_ms`` (once per hold), or why the run
        stops; ``market_speed``: the speed the market plays at now (``math.inf``: flat out;
        None: the bot's), rule 4's."""
        if self._stop is not None:
            return Verdict(0, self._stop)
        if self._holding_until_ms is not None:
            if wall_ms < self._holding_until_ms:
                return _GO  # held already
            self._holding_until_ms = None
        lags = self._lags
        if len(lags) < (lags.maxlen or 0):
            return _GO
        middle = median(lags)
        # a request stamped ahead past the bound (refused -1021) is the request's, not the
        # clock's: the others decide a hold, when they are most of the window
        kept = [lag for lag in lags if lag >= -self.max_lag_ms]
        smallest = min(kept) if 2 * len(kept) > len(lags) else -self.max_lag_ms
        if smallest > self.hold_above_ms:
            self._holding_until_ms = wall_ms + smallest / self.speed
            self.held_ms += smallest
            self.holds += 1
            self._last_hold_ms = smallest
            lags.clear()  # what they said is what the hold answered: the median starts afresh
            return Verdict(smallest)
        over = f"(bound {self.max_lag_ms} ms, the median of its last {len(lags)} signed requests)"
        changed = market_speed is not None and market_speed != self.speed
        if changed and abs(middle) > self.max_lag_ms:  # rule 4: no speed suggested would mend it
            assert market_speed is not None
            shown = "max" if math.isinf(market_speed) else f"{market_speed:g}"
            way = "behind" if middle > 0 else "ahead of"
            self._stop = (
                f"the bot's clock was {abs(middle):.0f} ms {way} the market's {over}: the market's speed "
                f"was set to ×{shown} on the admin listener, and the bot's clock keeps the ×{self.speed:g} "
                "it started at: give the speed wanted to tickerplant run instead"
            )
        elif middle > self.max_lag_ms:
            speed = suggested_speed(self.speed, self.max_lag_ms, middle)
            self._stop = (
                f"the bot's clock was {middle:.0f} ms behind the market's at ×{self.speed:g} {over}; "
                f"×{speed:g} would hold"
            )
        elif -self.max_lag_ms - self._last_hold_ms <= middle < -self.max_lag_ms:
            # the last hold's overshoot (rule 3): the ways' differences scale with the speed
            speed = suggested_speed(self.speed, self.max_lag_ms, -middle)
            self._stop = (
                f"the bot's clock was {-middle:.0f} ms ahead of the market's at ×{self.speed:g} {over}, "
                f"within the {self._last_hold_ms} ms the market was last held for it: its requests came "
                f"faster than those the hold was measured on; ×{speed:g} would hold"
            )
        elif middle < -self.max_lag_ms:  # no speed mends a clock ahead: the market is never skipped
            self._stop = (
                f"the bot's clock was {-middle:.0f} ms ahead of the market's at ×{self.speed:g} {over}; "
                "the market never skips ahead to it: was it paused, or does the bot add to its timestamps?"
            )
        return _GO if self._stop is None else Verdict(0, self._stop)

    def summary(self) -> LagSummary:
        """What was measured; the median of the last window since the last hold, read now (a
        bot that ends between two looks has one the rules have not weighed yet), or None when
        fewer requests came since: one taken before a hold is what the hold answered."""
        lags, window = self._lags, self._lags.maxlen or 0
        middle = median(lags) if len(lags) == window else None
        held = (self.held_ms, self.holds)
        measured = (self.requests, self._min, self._max, middle)
        return LagSummary(*measured, *held, len(lags), window, self.max_lag_ms)


def suggested_speed(speed: float, max_lag_ms: int, lag_ms: float) -> float:
    """A speed at which a lag of ``lag_ms`` at ``speed`` (its way's share scales with the
    speed) is half of ``max_lag_ms``, rounded down to two significant digits."""
    wanted = speed * max_lag_ms / (2 * lag_ms)
    scale = 10.0 ** (1 - math.floor(math.log10(wanted)))
    return math.floor(wanted * scale) / scale
