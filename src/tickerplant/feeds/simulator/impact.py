"""How an outside taker's volume moves the simulated market: the square-root impact law,
half of it permanent and half transient, decaying exponentially.

An outside order (the venue's: a user's order, or a liquidation's) that takes ``Q`` of a
symbol's book moves its asset's latent fair price (``fair_price.FairPrice``) at once by

    I = Y · σ_d · sqrt(Q / V_d)      (in log price, up for a buy, down for a sell)

with ``σ_d`` the instrument's daily volatility, ``V_d`` the volume the simulator's own flow
trades in that symbol in a day at the rate its books are sized for, 400 actions a second
(``Simulator.daily_volume``: a market slowed with ``--sim-rate`` is as deep, so it moves as
little), and ``Y`` =
``IMPACT_Y``, the order-one constant measured on real markets (Tóth et al. 2011; Bouchaud,
Bonart, Donier and Gould, *Trades, Quotes and Prices*, ch. 12, give 0.5–1); at most one
daily volatility (``MAX_IMPACT``: the law is for orders small beside a day's volume).

Half of ``I`` is **permanent** (the driver's factor moves, and the random walk goes on from
there); the other half is **transient**: a multiplier on the fair price whose log decays as
``exp(-t / DECAY_MS)`` (an exponential kernel, five minutes), the book's memory of the
order wearing off. The books follow the fair price as they always do (the makers lean to
it, ``book_upkeep``), so after a large buy the book refills around a mid higher by ``I``,
falling back towards ``I / 2`` over minutes.

The simulator's own order flow moves nothing this way: its fair price is the random walk
its books follow (``simulator.py``), as before.
"""

from __future__ import annotations

import math

__all__ = ["DECAY_MS", "IMPACT_Y", "MAX_IMPACT", "PERMANENT", "impact", "pressure_after"]

IMPACT_Y = 0.7
MAX_IMPACT = 1.0  # in daily volatilities: one taker never moves the price further at once
PERMANENT = 0.5  # of the impact, the part that stays
DECAY_MS = 300_000  # the transient part's e-folding time


def impact(daily_volatility: float, qty: float, daily_volume: float) -> float:
    """``I``, the log move of a taker's ``qty`` (base units) in a market that trades
    ``daily_volume`` a day (see the module docstring); 0 for nothing traded."""
    if qty <= 0 or daily_volume <= 0:
        return 0.0
    return daily_volatility * min(MAX_IMPACT, IMPACT_Y * math.sqrt(qty / daily_volume))


def pressure_after(log_pressure: float, elapsed_ms: float) -> float:
    """The transient part's log after ``elapsed_ms`` more of decay."""
    return log_pressure * math.exp(-elapsed_ms / DECAY_MS)
