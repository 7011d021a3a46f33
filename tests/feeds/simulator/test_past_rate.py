"""The simulated past trades at the live simulator's rate: a few minutes of
the live market against the rates ``market/history`` gives each symbol at the same
``--sim-rate``, summed over the catalogue. (A symbol's own rate swings with its activity's
clustering over minutes: the per-symbol calibration in ``market/history/tape.py`` was
measured over an hour of two seeds.)"""

from __future__ import annotations

import collections

from tickerplant.feeds.simulator.simulator import DEFAULT_START_MS, Simulator
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.updates import Trade

# over fewer minutes the catalogue's sum swings with one busy symbol's mood (BTCUSDT alone
# traded 2.6 times its past hour's rate over 3 minutes of a quiet Sunday night)
MINUTES = 10


def test_the_past_trades_at_the_live_rate() -> None:
    instruments = [i for m in Market for i in catalogue(m, DEFAULT_START_MS)]
    simulator = Simulator(instruments, seed=1, actions_per_s=400.0, book_levels=20)
    counts: collections.Counter[str] = collections.Counter()
    for step in range(1, MINUTES * 60 * 4 + 1):
        for update in simulator.advance(DEFAULT_START_MS + 250 * step):
            if type(update) is Trade:
                counts[update.symbol] += 1
    past = SimulatedPast(instruments, seed=1, actions_per_s=400.0)
    live = sum(counts.values()) / MINUTES
    expected = sum(past.tape(i.symbol).rate for i in instruments)
    assert 1 / 1.3 < expected / live < 1.3, (expected, live)


# 2026-11-28 03:40 UTC (a Saturday night) and 2026-11-30 15:20 UTC (a Monday afternoon)
QUIET, BUSY = 1_795_836_000_000 + 20 * 60_000, 1_796_050_800_000 + 20 * 60_000


def _live_and_past(start_ms: int) -> tuple[collections.Counter[str], dict[str, float]]:
    """Trades a minute per symbol over MINUTES of the live market started at ``start_ms``
    as the server starts it (as busy as its past this hour), and its past's this hour."""
    instruments = [i for m in Market for i in catalogue(m, start_ms)]
    past = SimulatedPast(instruments, seed=1, actions_per_s=400.0)
    simulator = Simulator(
        instruments, seed=1, actions_per_s=400.0, start_ms=start_ms, book_levels=20,
        activity=lambda symbol, time_ms: past.tape(symbol).activity_at(time_ms),
    )  # fmt: skip
    counts: collections.Counter[str] = collections.Counter()
    for step in range(1, MINUTES * 60 * 4 + 1):
        for update in simulator.advance(start_ms + 250 * step):
            if type(update) is Trade:
                counts[update.symbol] += 1
    hour = start_ms // 3_600_000
    expected = {i.symbol: past.tape(i.symbol).counts.hour_counts(hour // 24)[hour % 24] / 60.0 for i in instruments}
    return collections.Counter({s: n / MINUTES for s, n in counts.items()}), expected


def test_the_live_market_goes_on_as_busy_as_its_past_hour() -> None:
    """A Saturday night's live market is as quiet as its past hour, a Monday afternoon's as
    busy, over the catalogue. (Each symbol's own count swings over minutes with its mood;
    the per-symbol rates are calibrated over an hour, ``market/history/tape.py``.)"""
    quiet, quiet_past = _live_and_past(QUIET)
    busy, busy_past = _live_and_past(BUSY)
    for live, expected in ((quiet, quiet_past), (busy, busy_past)):
        assert 1 / 1.3 < sum(expected.values()) / sum(live.values()) < 1.3
    cycle_live = sum(busy.values()) / sum(quiet.values())
    cycle_past = sum(busy_past.values()) / sum(quiet_past.values())
    assert cycle_past > 2 and 1 / 1.3 < cycle_live / cycle_past < 1.3  # the cycle goes on, live
