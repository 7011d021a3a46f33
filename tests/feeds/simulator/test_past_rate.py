"""The simulated past trades at the live simulator's rate (issue 30, item 2): a few minutes of
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

MINUTES = 3


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
